"""GET /api/customers/{id}: the record, its billing state, and the error envelope."""

from collections.abc import Callable

import pytest
from django.test import Client

from core.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_a_customer_is_returned_with_its_billing_state(
    client: Client, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(
        email="ada@example.com",
        name="Ada",
        company="Analytical",
        plan="business",
        billing={
            "provider_customer_id": "cus_ada",
            "subscription_status": "past_due",
            "balance_cents": 4200,
            "currency": "eur",
        },
    )

    response = client.get(f"/api/customers/{customer.pk}")

    assert response.status_code == 200
    assert response["X-Service"] == "core"
    assert response.json() == {
        "id": customer.pk,
        "email": "ada@example.com",
        "name": "Ada",
        "company": "Analytical",
        "plan": "business",
        "billing": {
            "provider_customer_id": "cus_ada",
            "subscription_status": "past_due",
            "balance_cents": 4200,
            "currency": "eur",
        },
    }


def test_a_customer_without_billing_account_reads_as_status_none(client: Client) -> None:
    customer = Customer.objects.create(email="new@example.com", name="New")

    billing = client.get(f"/api/customers/{customer.pk}").json()["billing"]

    assert billing == {
        "provider_customer_id": "",
        "subscription_status": "none",
        "balance_cents": 0,
        "currency": "usd",
    }


def test_an_unknown_customer_is_not_found_in_the_envelope(client: Client) -> None:
    response = client.get("/api/customers/424242")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "customer 424242 not found"}
    }


def test_a_non_numeric_id_is_a_validation_error(client: Client) -> None:
    response = client.get("/api/customers/abc")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"customer_id"}
