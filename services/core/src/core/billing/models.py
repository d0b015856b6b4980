"""Billing state per customer, and the ledger of external events already processed.

``ProcessedEvent`` is the idempotency record: one row per event id, written in the same
transaction as the state change it caused, so a redelivered event is recognised, never re-applied.
"""

from enum import StrEnum

from django.db import models

from core.choices import choices_of
from core.customers.models import Customer


class SubscriptionStatus(StrEnum):
    """Where the customer's subscription stands with the payment provider."""

    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    NONE = "none"


class EventOutcome(StrEnum):
    """What processing an external event did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class BillingAccount(models.Model):
    """A customer's account with the payment provider."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="billing")
    provider_customer_id = models.CharField(
        max_length=64, unique=True, help_text='The provider\'s customer id ("cus_...").'
    )
    subscription_status = models.CharField(
        max_length=20, choices=choices_of(SubscriptionStatus), default=SubscriptionStatus.NONE
    )
    balance_cents = models.BigIntegerField(default=0, help_text="Amount due, in cents.")
    currency = models.CharField(max_length=3, default="usd")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.provider_customer_id} ({self.subscription_status})"


class ProcessedEvent(models.Model):
    """An external event core has processed, keyed by the sender's event id."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    source = models.CharField(max_length=50)
    outcome = models.CharField(max_length=20, choices=choices_of(EventOutcome))
    detail = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField()

    class Meta:
        ordering = ["-processed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} → {self.outcome}"
