"""Reading customers with their billing state, the way the API and CoreService present them."""

from dataclasses import dataclass
from datetime import datetime

from core.billing.models import SubscriptionStatus
from core.customers.models import Customer


class CustomerNotFoundError(LookupError):
    """No customer has the requested id."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"customer {customer_id} not found")
        self.customer_id = customer_id


@dataclass(frozen=True)
class BillingState:
    """A customer's billing state; a customer without an account reads as status "none"."""

    provider_customer_id: str = ""
    subscription_status: str = SubscriptionStatus.NONE.value
    balance_cents: int = 0
    currency: str = "usd"
    updated_at: datetime | None = None


def get_customer(customer_id: int) -> Customer:
    """Return the customer with its billing account loaded, or raise CustomerNotFoundError."""
    customer = Customer.objects.select_related("billing").filter(pk=customer_id).first()
    if customer is None:
        raise CustomerNotFoundError(customer_id)
    return customer


def billing_state(customer: Customer) -> BillingState:
    """Return the customer's billing state, with defaults when it has no billing account."""
    account = getattr(customer, "billing", None)
    if account is None:
        return BillingState()
    return BillingState(
        provider_customer_id=account.provider_customer_id,
        subscription_status=account.subscription_status,
        balance_cents=account.balance_cents,
        currency=account.currency,
        updated_at=account.updated_at,
    )
