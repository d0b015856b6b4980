"""App configuration of the faults app."""

from django.apps import AppConfig


class FaultsConfig(AppConfig):
    """Fault flags of the monolith: legacy noise for the shadow comparator to cancel."""

    name = "core.faults"
    label = "faults"
    verbose_name = "Fault flags"
