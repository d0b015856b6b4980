"""App configuration of the customers app."""

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """Customers: who uses the product and on which plan."""

    name = "core.customers"
    label = "customers"
    verbose_name = "Customers"
