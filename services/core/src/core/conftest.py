"""Fixtures shared by the tests of every app of the monolith."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.billing.models import BillingAccount
from core.customers.models import Customer
from core.faults.services import assume_no_faults
from core.knowledge.models import Article
from core.outbound import close_clients

TEST_SERVICE_TOKEN = "test-service-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105


@pytest.fixture(autouse=True)
def fresh_outbound_clients() -> Iterator[None]:
    """Give each test new pooled clients, made under whatever instrumentation it sets up."""
    yield
    close_clients()


@pytest.fixture(autouse=True)
def no_faults() -> None:
    """Run without legacy noise and without reading its flag (the faults app's tests read it)."""
    assume_no_faults()


@pytest.fixture
def service_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """Set the service token every internal call carries and checks."""
    monkeypatch.setenv("STRANGLER_SERVICE_TOKEN", TEST_SERVICE_TOKEN)
    return TEST_SERVICE_TOKEN


@pytest.fixture
def make_customer() -> Callable[..., Customer]:
    """Return a factory of customers with a billing account."""
    counter = iter(range(1, 10_000))

    def make(**overrides: Any) -> Customer:
        n = next(counter)
        billing = {
            "provider_customer_id": f"cus_test{n:04d}",
            "subscription_status": "active",
            "balance_cents": 0,
            "currency": "usd",
        }
        billing.update(overrides.pop("billing", {}))
        fields = {"email": f"customer{n}@example.com", "name": f"Customer {n}", "plan": "team"}
        fields.update(overrides)
        customer = Customer.objects.create(**fields)
        BillingAccount.objects.create(customer=customer, **billing)
        return customer

    return make


@pytest.fixture
def make_article() -> Callable[..., Article]:
    """Return a factory of articles."""
    counter = iter(range(1, 10_000))

    def make(**overrides: Any) -> Article:
        n = next(counter)
        fields: dict[str, Any] = {
            "slug": f"article-{n}",
            "title": f"Article {n}",
            "body": f"Body of article {n}.",
            "tags": [],
        }
        fields.update(overrides)
        return Article.objects.create(**fields)

    return make
