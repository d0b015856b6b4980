"""`manage.py seed`: load the packaged seed data (idempotent) and the admin user."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.seeding.services import (
    SeedDataError,
    default_articles_path,
    default_customers_path,
    seed,
)


class Command(BaseCommand):
    """Load articles and customers by natural key; a second run changes nothing."""

    help = (
        "Load the seed articles and customers (matched by slug and email; unchanged rows are "
        "left alone) and, when CORE_ADMIN_PASSWORD is set, the superuser 'admin'."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Let tests and operators point at other seed files."""
        parser.add_argument("--articles", type=Path, default=None, help="articles JSON file")
        parser.add_argument("--customers", type=Path, default=None, help="customers JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the seed and print a one-line summary."""
        articles = options["articles"] or default_articles_path()
        customers = options["customers"] or default_customers_path()
        try:
            report = seed(articles, customers, settings.CORE_ADMIN_PASSWORD)
        except SeedDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(report))
