"""`manage.py seed`: loads by natural key, and a second run creates and changes nothing."""

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings

from core.billing.models import BillingAccount
from core.customers.models import Customer
from core.knowledge.models import Article
from core.seeding.services import default_articles_path, default_customers_path

pytestmark = pytest.mark.django_db

ARTICLES: list[dict[str, Any]] = [
    {
        "slug": "reset-password",
        "title": "Reset your password",
        "tags": ["account"],
        "body": "Open settings. Choose reset.",
    },
    {"slug": "refunds", "title": "Refunds", "tags": [], "body": "Refunds take five days."},
]
CUSTOMERS: list[dict[str, Any]] = [
    {
        "email": "ada@example.com",
        "name": "Ada",
        "company": "Engines",
        "plan": "business",
        "billing": {
            "provider_customer_id": "cus_ada",
            "subscription_status": "active",
            "balance_cents": 0,
            "currency": "usd",
        },
    },
    {
        "email": "bob@example.com",
        "name": "Bob",
        "company": "",
        "plan": "free",
        "billing": {
            "provider_customer_id": "cus_bob",
            "subscription_status": "past_due",
            "balance_cents": 1500,
            "currency": "eur",
        },
    },
]


def _write(
    tmp_path: Path, articles: list[dict[str, Any]], customers: list[dict[str, Any]]
) -> dict[str, Path]:
    paths = {"articles": tmp_path / "articles.json", "customers": tmp_path / "customers.json"}
    paths["articles"].write_text(json.dumps(articles))
    paths["customers"].write_text(json.dumps(customers))
    return paths


def _seed(**options: Any) -> str:
    out = StringIO()
    call_command("seed", stdout=out, **options)
    return out.getvalue().strip()


def _snapshot() -> list[Any]:
    return [
        list(Article.objects.values_list("slug", "title", "body", "tags", "updated_at")),
        list(Customer.objects.values_list("email", "name", "company", "plan")),
        list(
            BillingAccount.objects.values_list(
                "provider_customer_id",
                "subscription_status",
                "balance_cents",
                "currency",
                "updated_at",
            )
        ),
    ]


def test_a_second_run_creates_no_duplicates_and_changes_nothing(tmp_path: Path) -> None:
    paths = _write(tmp_path, ARTICLES, CUSTOMERS)

    first = _seed(**paths)
    before = _snapshot()
    second = _seed(**paths)

    assert first == (
        "seed: articles created=2 updated=0 unchanged=0; "
        "customers created=2 updated=0 unchanged=0; admin skipped"
    )
    assert second == (
        "seed: articles created=0 updated=0 unchanged=2; "
        "customers created=0 updated=0 unchanged=2; admin skipped"
    )
    assert _snapshot() == before
    assert (Article.objects.count(), Customer.objects.count(), BillingAccount.objects.count()) == (
        2,
        2,
        2,
    )


def test_changed_records_are_updated_in_place(tmp_path: Path) -> None:
    _seed(**_write(tmp_path, ARTICLES, CUSTOMERS))
    articles = [{**ARTICLES[0], "title": "Reset a password"}, ARTICLES[1]]
    customers = [
        CUSTOMERS[0],
        {**CUSTOMERS[1], "billing": {**CUSTOMERS[1]["billing"], "subscription_status": "active"}},
    ]

    summary = _seed(**_write(tmp_path, articles, customers))

    assert "articles created=0 updated=1 unchanged=1" in summary
    assert "customers created=0 updated=1 unchanged=1" in summary
    assert Article.objects.get(slug="reset-password").title == "Reset a password"
    assert (
        BillingAccount.objects.get(provider_customer_id="cus_bob").subscription_status == "active"
    )


def test_the_admin_user_is_created_then_kept_then_its_password_updated(
    tmp_path: Path, settings: Settings
) -> None:
    paths = _write(tmp_path, [], [])
    settings.CORE_ADMIN_PASSWORD = "first-admin-password-123"

    created, unchanged = _seed(**paths), _seed(**paths)
    settings.CORE_ADMIN_PASSWORD = "second-admin-password-456"
    updated = _seed(**paths)

    assert [s.rsplit("admin ", 1)[1] for s in (created, unchanged, updated)] == [
        "created",
        "unchanged",
        "updated",
    ]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("second-admin-password-456")


@pytest.mark.parametrize(
    "articles",
    [{"slug": "x"}, [{"slug": "no title", "title": "T", "body": "B"}], [{"title": "T"}]],
)
def test_malformed_seed_files_are_refused_without_writing(tmp_path: Path, articles: Any) -> None:
    paths = _write(tmp_path, articles, CUSTOMERS)

    with pytest.raises(CommandError):
        _seed(**paths)
    assert not Customer.objects.exists()


def test_the_packaged_seed_files_load_and_reload_idempotently() -> None:
    articles = json.loads(default_articles_path().read_text())
    customers = json.loads(default_customers_path().read_text())

    _seed()
    second = _seed()

    assert Article.objects.count() == len(articles) > 0
    assert Customer.objects.count() == len(customers) > 0
    assert f"articles created=0 updated=0 unchanged={len(articles)}" in second
    assert f"customers created=0 updated=0 unchanged={len(customers)}" in second
