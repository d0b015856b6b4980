"""Loading seed data idempotently: a second run with the same files changes nothing.

Rows are matched by their natural key (article slug, customer email) and saved only when a value
differs, so ``updated_at`` stays put and rag's incremental sync sees no spurious changes.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from django.contrib.auth import get_user_model
from django.db import models, transaction
from pydantic import BaseModel, ValidationError

from core.billing.models import BillingAccount
from core.customers.models import Customer
from core.knowledge.models import Article
from core.seeding.records import ArticleRecord, BillingRecord, CustomerRecord

Change = Literal["created", "updated", "unchanged"]
ADMIN_USERNAME = "admin"
RecordT = TypeVar("RecordT", bound=BaseModel)
ADMIN_EMAIL = "admin@example.com"


class SeedDataError(ValueError):
    """A seed file is missing, not JSON, or has a record of the wrong shape."""


@dataclass
class Tally:
    """How many rows a seed run created, updated and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, change: Change) -> None:
        """Count one row's change."""
        setattr(self, change, getattr(self, change) + 1)

    def __str__(self) -> str:
        return f"created={self.created} updated={self.updated} unchanged={self.unchanged}"


def default_articles_path() -> Path:
    """Return the packaged articles seed file."""
    return Path(str(resources.files("core.knowledge") / "seed" / "articles.json"))


def default_customers_path() -> Path:
    """Return the packaged customers seed file."""
    return Path(str(resources.files("core.customers") / "seed" / "customers.json"))


def read_records(path: Path, model: type[RecordT]) -> list[RecordT]:
    """Read a JSON list of records from ``path``, validating each one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedDataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, list):
        raise SeedDataError(f"{path} must hold a JSON list of records")
    try:
        return [model.model_validate(item) for item in data]
    except ValidationError as exc:
        raise SeedDataError(f"{path} has an invalid record: {exc}") from exc


def _apply(instance: models.Model, values: Mapping[str, Any]) -> bool:
    """Set the values that differ and save; return whether anything changed."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    if changed:
        instance.save()
    return bool(changed)


def upsert_article(record: ArticleRecord) -> Change:
    """Create or update the article with the record's slug."""
    values = {"title": record.title, "body": record.body, "tags": list(record.tags)}
    article = Article.objects.filter(slug=record.slug).first()
    if article is None:
        Article.objects.create(slug=record.slug, **values)
        return "created"
    return "updated" if _apply(article, values) else "unchanged"


def upsert_customer(record: CustomerRecord) -> Change:
    """Create or update the customer with the record's email, and its billing account."""
    values = {"name": record.name, "company": record.company, "plan": record.plan.value}
    customer = Customer.objects.filter(email=record.email).first()
    if customer is None:
        customer = Customer.objects.create(email=record.email, **values)
        _upsert_billing(customer, record.billing)
        return "created"
    changed = _apply(customer, values)
    changed = _upsert_billing(customer, record.billing) or changed
    return "updated" if changed else "unchanged"


def _upsert_billing(customer: Customer, record: BillingRecord | None) -> bool:
    if record is None:
        return False
    values = {
        "provider_customer_id": record.provider_customer_id,
        "subscription_status": record.subscription_status.value,
        "balance_cents": record.balance_cents,
        "currency": record.currency,
    }
    account = BillingAccount.objects.filter(customer=customer).first()
    if account is None:
        BillingAccount.objects.create(customer=customer, **values)
        return True
    return _apply(account, values)


def ensure_admin(password: str) -> Change | Literal["skipped"]:
    """Create the superuser "admin" with ``password``, or bring an existing one in line."""
    if not password:
        return "skipped"
    user_model = get_user_model()
    user = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if user is None:
        user_model.objects.create_superuser(ADMIN_USERNAME, ADMIN_EMAIL, password)
        return "created"
    changed = _apply(user, {"is_staff": True, "is_superuser": True, "is_active": True})
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
        changed = True
    return "updated" if changed else "unchanged"


@dataclass
class SeedReport:
    """What one seed run did."""

    articles: Tally
    customers: Tally
    admin: str

    def __str__(self) -> str:
        return f"seed: articles {self.articles}; customers {self.customers}; admin {self.admin}"


def seed(articles_path: Path, customers_path: Path, admin_password: str) -> SeedReport:
    """Load both seed files and the admin user in one transaction."""
    articles = read_records(articles_path, ArticleRecord)
    customers = read_records(customers_path, CustomerRecord)
    report = SeedReport(Tally(), Tally(), "skipped")
    with transaction.atomic():
        for article in articles:
            report.articles.add(upsert_article(article))
        for customer in customers:
            report.customers.add(upsert_customer(customer))
        report.admin = ensure_admin(admin_password)
    return report
