"""App configuration of the accounts app."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Accounts: the signed-in user, vouched for to the services that took routes over."""

    name = "core.accounts"
    label = "accounts"
    verbose_name = "Accounts"
