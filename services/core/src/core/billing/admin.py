"""Admin screens for billing accounts and the processed-event ledger."""

from django.contrib import admin
from django.http import HttpRequest

from core.billing.models import BillingAccount, ProcessedEvent


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    """Billing accounts, searchable by provider id and customer."""

    list_display = (
        "provider_customer_id",
        "customer",
        "subscription_status",
        "balance_cents",
        "currency",
        "updated_at",
    )
    list_filter = ("subscription_status", "currency")
    search_fields = ("provider_customer_id", "customer__email", "customer__name")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    readonly_fields = ("updated_at",)


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin):
    """The event ledger: read-only, since it is the record of what happened."""

    list_display = ("event_id", "type", "source", "outcome", "received_at", "processed_at")
    list_filter = ("outcome", "source", "type")
    search_fields = ("event_id", "detail")
    date_hierarchy = "processed_at"
    readonly_fields = (
        "event_id",
        "type",
        "source",
        "outcome",
        "detail",
        "payload",
        "received_at",
        "processed_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse hand-made ledger entries: events only arrive through the intake paths."""
        return False
