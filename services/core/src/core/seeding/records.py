"""The shapes of the seed files, validated before anything touches the database."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.billing.models import SubscriptionStatus
from core.customers.models import Plan

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ArticleRecord(BaseModel):
    """One article of knowledge/seed/articles.json."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    slug: Annotated[str, StringConstraints(pattern=r"^[-a-zA-Z0-9_]+$", max_length=200)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    body: NonEmpty
    tags: list[NonEmpty] = Field(default_factory=list)


class BillingRecord(BaseModel):
    """The billing part of a customer record."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider_customer_id: Annotated[str, StringConstraints(pattern=r"^cus_\w+$", max_length=64)]
    subscription_status: SubscriptionStatus = SubscriptionStatus.NONE
    balance_cents: int = 0
    currency: Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")] = "usd"


class CustomerRecord(BaseModel):
    """One customer of customers/seed/customers.json."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
    name: NonEmpty
    company: str = ""
    plan: Plan = Plan.FREE
    billing: BillingRecord | None = None
