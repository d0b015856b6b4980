"""apply_event: each event type, idempotency by event id, what is ignored and why."""

from collections.abc import Callable
from typing import Any

import pytest

from core.billing.models import BillingAccount, EventOutcome, ProcessedEvent
from core.billing.services import InvalidEventError, apply_event
from core.customers.models import Customer

pytestmark = pytest.mark.django_db


def _event(event_type: str, customer: str, **fields: Any) -> dict[str, Any]:
    return {"type": event_type, "data": {"object": {"customer": customer, **fields}}}


def _account(customer: Customer) -> BillingAccount:
    return BillingAccount.objects.get(customer=customer)


@pytest.mark.parametrize(
    ("event_type", "fields", "status", "balance"),
    [
        ("customer.subscription.created", {"status": "trialing"}, "trialing", 500),
        ("customer.subscription.updated", {"status": "past_due"}, "past_due", 500),
        ("customer.subscription.deleted", {"status": "canceled"}, "canceled", 500),
        ("invoice.paid", {}, "active", 0),
        ("invoice.payment_failed", {"amount_due": 4200}, "past_due", 4200),
    ],
)
def test_each_handled_event_changes_billing_state(
    make_customer: Callable[..., Customer],
    event_type: str,
    fields: dict[str, Any],
    status: str,
    balance: int,
) -> None:
    customer = make_customer(billing={"subscription_status": "none", "balance_cents": 500})
    cus = _account(customer).provider_customer_id

    result = apply_event("evt_1", event_type, "stripe", _event(event_type, cus, **fields))

    assert result.outcome == EventOutcome.APPLIED
    account = _account(customer)
    assert (account.subscription_status, account.balance_cents) == (status, balance)
    record = ProcessedEvent.objects.get(event_id="evt_1")
    assert (record.type, record.source, record.outcome) == (event_type, "stripe", "applied")


def test_a_redelivered_event_is_a_duplicate_and_changes_nothing(
    make_customer: Callable[..., Customer],
) -> None:
    customer = make_customer(billing={"subscription_status": "active"})
    cus = _account(customer).provider_customer_id
    failed = _event("invoice.payment_failed", cus, amount_due=900)
    assert apply_event("evt_dup", "invoice.payment_failed", "stripe", failed).outcome == "applied"
    BillingAccount.objects.filter(customer=customer).update(subscription_status="active")

    again = apply_event("evt_dup", "invoice.payment_failed", "stripe", failed)

    assert again.outcome == EventOutcome.DUPLICATE
    assert _account(customer).subscription_status == "active"
    assert ProcessedEvent.objects.filter(event_id="evt_dup").count() == 1


def test_an_unknown_customer_is_ignored_with_detail_and_recorded() -> None:
    result = apply_event("evt_x", "invoice.paid", "stripe", _event("invoice.paid", "cus_nobody"))

    assert result.outcome == EventOutcome.IGNORED
    assert "cus_nobody" in result.detail
    assert ProcessedEvent.objects.get(event_id="evt_x").outcome == "ignored"


def test_an_unhandled_type_is_ignored_and_a_redelivery_is_a_duplicate() -> None:
    payload = {"type": "charge.refunded", "data": {"object": {}}}

    first = apply_event("evt_r", "charge.refunded", "stripe", payload)
    second = apply_event("evt_r", "charge.refunded", "stripe", payload)

    assert (first.outcome, second.outcome) == (EventOutcome.IGNORED, EventOutcome.DUPLICATE)
    assert "not handled" in first.detail


@pytest.mark.parametrize(
    ("event_type", "data_object"),
    [
        ("invoice.paid", {}),
        ("customer.subscription.updated", {"status": "paused"}),
        ("invoice.payment_failed", {"amount_due": "lots"}),
    ],
)
def test_handled_types_without_usable_content_are_ignored(
    make_customer: Callable[..., Customer], event_type: str, data_object: dict[str, Any]
) -> None:
    customer = make_customer(billing={"subscription_status": "active", "balance_cents": 0})
    data_object.setdefault("customer", _account(customer).provider_customer_id)
    if event_type == "invoice.paid":
        data_object.pop("customer")

    result = apply_event("evt_u", event_type, "stripe", {"data": {"object": data_object}})

    assert result.outcome == EventOutcome.IGNORED
    assert _account(customer).subscription_status == "active"


def test_an_expanded_customer_object_is_understood(make_customer: Callable[..., Customer]) -> None:
    customer = make_customer(billing={"subscription_status": "past_due", "balance_cents": 70})
    cus = _account(customer).provider_customer_id
    payload = {"data": {"object": {"customer": {"id": cus, "object": "customer"}}}}

    assert apply_event("evt_e", "invoice.paid", "stripe", payload).outcome == "applied"
    assert _account(customer).subscription_status == "active"


@pytest.mark.parametrize(("event_id", "event_type"), [("", "invoice.paid"), ("evt_1", "")])
def test_an_event_without_id_or_type_is_refused(event_id: str, event_type: str) -> None:
    with pytest.raises(InvalidEventError):
        apply_event(event_id, event_type, "stripe", {})
    assert not ProcessedEvent.objects.exists()


@pytest.mark.django_db
def test_an_amount_past_64_bits_is_ignored_not_a_crash(make_customer: Any) -> None:
    customer = make_customer()
    reference = customer.billing.provider_customer_id
    payload = {"data": {"object": {"customer": reference, "amount_due": 10**30}}}

    result = apply_event("evt_huge", "invoice.payment_failed", "stripe", payload)

    assert result.outcome == EventOutcome.IGNORED
    assert "amount_due" in result.detail
