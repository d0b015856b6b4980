"""Applying payment-provider events to billing state, exactly once per event id.

Both intake paths end here: the legacy ``/webhooks/stripe`` view and ``CoreService.ApplyEvent``
(called by the webhook adapter that is taking that route over). The event's ledger row and the
state change commit together, so a crash between them cannot apply an event twice or lose one.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from strangler_shared import INT64_MAX
from strangler_shared.webhook_intake import IntakeRefusal, check_event_fields

from core.billing.models import BillingAccount, EventOutcome, ProcessedEvent, SubscriptionStatus

logger = logging.getLogger(__name__)


class InvalidEventError(ValueError):
    """The event lacks what every event needs (an id and a type); it cannot be recorded."""


class UnusableEventError(Exception):
    """A handled event type whose content core cannot act on; it is recorded as ignored."""


@dataclass(frozen=True)
class EventResult:
    """What processing one event did, and a human-readable reason."""

    outcome: EventOutcome
    detail: str


def apply_event(
    event_id: str,
    event_type: str,
    source: str,
    payload: Mapping[str, Any],
    received_at: datetime | None = None,
) -> EventResult:
    """Apply one external event atomically; an event id seen before changes nothing."""
    _validate(event_id, event_type, source)
    if ProcessedEvent.objects.filter(event_id=event_id).exists():
        return _duplicate(event_id)
    now = timezone.now()
    with transaction.atomic():
        record = _claim(event_id, event_type, source, payload, received_at or now, now)
        if record is None:
            return _duplicate(event_id)
        result = _dispatch(event_type, payload)
        record.outcome, record.detail = result.outcome, result.detail
        record.save(update_fields=["outcome", "detail"])
    logger.info("event %s (%s) %s: %s", event_id, event_type, result.outcome, result.detail)
    return result


def _validate(event_id: str, event_type: str, source: str) -> None:
    # The rules every intake path checks before it answers a sender (the shared module).
    try:
        check_event_fields(event_id, event_type, source)
    except IntakeRefusal as refusal:
        raise InvalidEventError(refusal.message) from None


def _duplicate(event_id: str) -> EventResult:
    logger.info("event %s was already processed", event_id)
    return EventResult(EventOutcome.DUPLICATE, f"event {event_id} was already processed")


def _claim(
    event_id: str,
    event_type: str,
    source: str,
    payload: Mapping[str, Any],
    received_at: datetime,
    now: datetime,
) -> ProcessedEvent | None:
    """Insert the event's ledger row, or return None when a concurrent delivery won the race."""
    try:
        with transaction.atomic():
            return ProcessedEvent.objects.create(
                event_id=event_id,
                type=event_type,
                source=source,
                outcome=EventOutcome.IGNORED,
                payload=dict(payload),
                received_at=received_at,
                processed_at=now,
            )
    except IntegrityError:
        return None


def _dispatch(event_type: str, payload: Mapping[str, Any]) -> EventResult:
    handler = _HANDLERS.get(event_type)
    if handler is None:
        return EventResult(EventOutcome.IGNORED, f"event type {event_type} is not handled")
    data_object = _data_object(payload)
    reference = _customer_reference(data_object)
    if not reference:
        return EventResult(EventOutcome.IGNORED, "event has no data.object.customer")
    account = BillingAccount.objects.select_for_update().filter(provider_customer_id=reference)
    found = account.first()
    if found is None:
        return EventResult(EventOutcome.IGNORED, f"unknown customer {reference}")
    try:
        detail = handler(found, data_object)
    except UnusableEventError as exc:
        return EventResult(EventOutcome.IGNORED, str(exc))
    found.save()
    return EventResult(EventOutcome.APPLIED, f"{reference}: {detail}")


def _data_object(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    data = payload.get("data")
    candidate = data.get("object") if isinstance(data, Mapping) else None
    return candidate if isinstance(candidate, Mapping) else {}


def _customer_reference(data_object: Mapping[str, Any]) -> str:
    customer = data_object.get("customer")
    # Stripe sends the id, or the whole customer object when the field was expanded.
    if isinstance(customer, Mapping):
        customer = customer.get("id")
    return customer if isinstance(customer, str) else ""


def _subscription_changed(account: BillingAccount, data_object: Mapping[str, Any]) -> str:
    raw = data_object.get("status")
    try:
        status = SubscriptionStatus(str(raw))
    except ValueError as exc:
        raise UnusableEventError(f"unsupported subscription status {raw!r}") from exc
    account.subscription_status = status
    return f"subscription_status={status}"


def _subscription_deleted(account: BillingAccount, data_object: Mapping[str, Any]) -> str:
    account.subscription_status = SubscriptionStatus.CANCELED
    return "subscription_status=canceled"


def _invoice_paid(account: BillingAccount, data_object: Mapping[str, Any]) -> str:
    account.subscription_status = SubscriptionStatus.ACTIVE
    account.balance_cents = 0
    return "subscription_status=active balance_cents=0"


def _invoice_payment_failed(account: BillingAccount, data_object: Mapping[str, Any]) -> str:
    amount = data_object.get("amount_due")
    # The balance column is 64-bit: a larger amount is no amount this provider sends.
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= INT64_MAX:
        raise UnusableEventError(f"invalid amount_due {amount!r}")
    account.subscription_status = SubscriptionStatus.PAST_DUE
    account.balance_cents = amount
    return f"subscription_status=past_due balance_cents={amount}"


_HANDLERS: dict[str, Callable[[BillingAccount, Mapping[str, Any]], str]] = {
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_deleted,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
}
