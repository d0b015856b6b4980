"""The admin: every model's list (with its search and filters) and add page render."""

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.billing.services import apply_event
from core.customers.models import Customer
from core.knowledge.models import Article

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/customers/customer/?q=example&plan__exact=team",
    "/admin/billing/billingaccount/?q=cus_&subscription_status__exact=active",
    "/admin/billing/processedevent/?q=evt&outcome__exact=ignored",
    "/admin/knowledge/article/?q=body",
    "/admin/knowledge/articletombstone/?q=gone",
]


@pytest.fixture
def admin_client_with_data(
    client: Client, make_customer: Callable[..., Customer], make_article: Callable[..., Article]
) -> Client:
    make_customer()
    make_article()
    make_article(slug="gone").delete()
    apply_event("evt_admin", "ping", "stripe", {})
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", CHANGELISTS)
def test_every_changelist_renders_with_search_and_filters(
    admin_client_with_data: Client, url: str
) -> None:
    response = admin_client_with_data.get(url)

    assert response.status_code == 200
    assert b"0 results" not in response.content


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/customers/customer/add/", 200),
        ("/admin/knowledge/article/add/", 200),
        ("/admin/billing/processedevent/add/", 403),
        ("/admin/knowledge/articletombstone/add/", 403),
    ],
)
def test_add_pages_exist_only_where_hand_made_rows_make_sense(
    admin_client_with_data: Client, url: str, status: int
) -> None:
    assert admin_client_with_data.get(url).status_code == status
