"""App configuration of the billing app."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Billing: subscription state and the payment-provider events applied to it."""

    name = "core.billing"
    label = "billing"
    verbose_name = "Billing"
