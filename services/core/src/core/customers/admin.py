"""Admin screens for customers, with their billing account inline."""

from django.contrib import admin

from core.billing.models import BillingAccount
from core.customers.models import Customer


class BillingAccountInline(admin.StackedInline):
    """The customer's billing account, edited on the customer's page."""

    model = BillingAccount
    can_delete = False
    readonly_fields = ("updated_at",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Customers, searchable by email, name and company, filterable by plan and billing state."""

    list_display = ("id", "email", "name", "company", "plan", "subscription_status", "created_at")
    list_filter = ("plan", "billing__subscription_status")
    search_fields = ("email", "name", "company", "billing__provider_customer_id")
    list_select_related = ("billing",)
    readonly_fields = ("created_at",)
    inlines = (BillingAccountInline,)

    @admin.display(description="Subscription", ordering="billing__subscription_status")
    def subscription_status(self, customer: Customer) -> str:
        """Show the subscription status from the billing account, if there is one."""
        billing = getattr(customer, "billing", None)
        return billing.subscription_status if billing else "—"
