"""App configuration of the seeding app (it has no models, only the `seed` command)."""

from django.apps import AppConfig


class SeedingConfig(AppConfig):
    """Seed data loading for a fresh stack."""

    name = "core.seeding"
    label = "seeding"
    verbose_name = "Seed data"
