"""The legacy /webhooks/stripe view, driven with deliveries signed as Stripe signs them."""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings
from strangler_shared.webhook_intake import MAX_BODY_BYTES

from core.billing.models import BillingAccount, ProcessedEvent
from core.customers.models import Customer

pytestmark = pytest.mark.django_db

SECRET = "whsec_a_secret_only_these_tests_know"
URL = "/webhooks/stripe"


def sign(payload: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """Return the Stripe-Signature header a sender computes for the payload."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def deliver(client: Client, payload: str, signature: str | None) -> Any:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return client.post(URL, data=payload, content_type="application/json", headers=headers)


@pytest.fixture(autouse=True)
def _secret(settings: Settings) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def past_due(make_customer: Callable[..., Customer]) -> BillingAccount:
    customer = make_customer(billing={"subscription_status": "past_due", "balance_cents": 1200})
    return BillingAccount.objects.get(customer=customer)


def _paid_event(account: BillingAccount, event_id: str = "evt_paid_1") -> str:
    event = {
        "id": event_id,
        "object": "event",
        "type": "invoice.paid",
        "data": {"object": {"object": "invoice", "customer": account.provider_customer_id}},
    }
    return json.dumps(event)


def test_a_signed_delivery_is_applied_and_its_redelivery_is_a_duplicate(
    client: Client, past_due: BillingAccount
) -> None:
    payload = _paid_event(past_due)

    first = deliver(client, payload, sign(payload))
    second = deliver(client, payload, sign(payload))

    assert first.status_code == 200
    assert first.json() == {"received": True, "event_id": "evt_paid_1", "outcome": "applied"}
    assert first["X-Service"] == "core"
    assert second.json()["outcome"] == "duplicate"
    past_due.refresh_from_db()
    assert (past_due.subscription_status, past_due.balance_cents) == ("active", 0)


def test_an_event_core_does_not_act_on_is_ignored(client: Client) -> None:
    payload = json.dumps({"id": "evt_o", "type": "charge.refunded", "data": {"object": {}}})

    response = deliver(client, payload, sign(payload))

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"


@pytest.mark.parametrize(
    ("make_signature", "code"),
    [
        (lambda payload: None, "missing_signature"),
        (lambda payload: sign(payload, secret="whsec_someone_else"), "invalid_signature"),
        (lambda payload: sign(payload, timestamp=int(time.time()) - 600), "invalid_signature"),
        (lambda payload: sign(payload + " "), "invalid_signature"),
        (lambda payload: "t=abc,v1=zz", "invalid_signature"),
        (lambda payload: sign(payload, timestamp=int(time.time()) + 3600), "invalid_signature"),
    ],
    ids=["missing", "wrong-secret", "expired", "other-body", "garbled", "future"],
)
def test_bad_or_missing_signatures_change_nothing(
    client: Client,
    past_due: BillingAccount,
    make_signature: Callable[[str], str | None],
    code: str,
) -> None:
    payload = _paid_event(past_due)

    response = deliver(client, payload, make_signature(payload))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    past_due.refresh_from_db()
    assert past_due.subscription_status == "past_due"
    assert not ProcessedEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "invoice.paid"}),
        json.dumps({"id": 5, "type": "x"}),
        json.dumps({"id": "e" * 256, "type": "invoice.paid"}),
        json.dumps({"id": "evt_1", "type": "x", "d": "[]"}).replace(
            '"[]"', "[" * 5000 + "]" * 5000
        ),
        json.dumps({"id": "evt_1", "type": "x", "d": "[]"}).replace('"[]"', "[" * 40 + "]" * 40),
    ],
    ids=["not-json", "a-list", "no-id", "id-not-text", "id-over-255", "very-deep", "deep"],
)
def test_a_signed_body_that_is_not_an_event_is_refused(client: Client, payload: str) -> None:
    response = deliver(client, payload, sign(payload))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"
    assert not ProcessedEvent.objects.exists()


def test_without_a_configured_secret_deliveries_are_refused(
    client: Client, settings: Settings
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = json.dumps({"id": "evt_1", "type": "invoice.paid"})

    response = deliver(client, payload, sign(payload))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"


def test_only_post_is_allowed(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"


def test_a_signed_body_that_is_not_utf8_is_an_invalid_event(client: Client) -> None:
    raw = b'{"id": "evt_1", "type": "x", "n": "\xff"}'
    t = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()

    response = client.post(
        URL, data=raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=f"t={t},v1={digest}"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"


def test_a_signed_body_over_the_shared_limit_is_413(
    client: Client, past_due: BillingAccount
) -> None:
    event = json.loads(_paid_event(past_due))
    event["padding"] = "x" * (MAX_BODY_BYTES + 512 * 1024)
    payload = json.dumps(event)

    response = deliver(client, payload, sign(payload))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not ProcessedEvent.objects.exists()
