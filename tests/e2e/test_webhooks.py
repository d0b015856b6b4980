"""A signed webhook through the gateway changes core's billing state; a forged one does not.

The adapter answers once the event is stored in its outbox and relays it to core right after, so
the tests poll (with a deadline) for the state change instead of expecting it with the answer.
"""

import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack import Stack
from standardwebhooks.webhooks import Webhook

pytestmark = pytest.mark.stack

CUSTOMERS = Path(__file__).parents[2] / "services/core/src/core/customers/seed/customers.json"


def _stripe_signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Sign a delivery the way Stripe does: v1 = HMAC-SHA256 over "<t>.<body>"."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _event(kind: str, customer: str, amount_due: int = 0) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "data": {"object": {"object": "invoice", "customer": customer, "amount_due": amount_due}},
    }
    return json.dumps(event).encode()


def _billing(stack: Stack, provider_id: str) -> tuple[str, int]:
    with sqlite3.connect(stack.config.data_dir / "core.sqlite3") as db:
        row = db.execute(
            "select subscription_status, balance_cents from billing_billingaccount "
            "where provider_customer_id = ?",
            (provider_id,),
        ).fetchone()
    assert row is not None, provider_id
    return row[0], row[1]


def _outbox_row(stack: Stack, event_id: str) -> tuple[str, str | None, int] | None:
    """Return the adapter's (status, core outcome, attempts) of an event; None if not stored."""
    with sqlite3.connect(stack.config.data_dir / "webhooks-outbox.sqlite3") as db:
        row = db.execute(
            "select status, outcome, attempts from outbox where event_id = ?", (event_id,)
        ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def _active_customers() -> list[str]:
    customers = json.loads(CUSTOMERS.read_text())
    return [
        c["billing"]["provider_customer_id"]
        for c in customers
        if c["billing"]["subscription_status"] == "active"
    ]


def test_signed_webhook_changes_billing_state(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    customer = _active_customers()[0]
    body = _event("invoice.payment_failed", customer, amount_due=4200)
    event_id = json.loads(body)["id"]
    signature = _stripe_signature(stack.secrets.stripe_webhook_secret, body)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}

    response = gateway.post("/webhooks/stripe", content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.headers["x-service"] == "webhooks"
    assert response.json() == {"received": True, "event_id": event_id, "outcome": "accepted"}
    poll(lambda: _billing(stack, customer) == ("past_due", 4200), seconds=20)
    # core commits before it answers, so the adapter records the outcome a moment later.
    poll(lambda: _outbox_row(stack, event_id) == ("delivered", "applied", 1), seconds=20)


def test_redelivered_webhook_is_acknowledged_without_a_second_delivery(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    customer = _active_customers()[2]
    body = _event("invoice.payment_failed", customer, amount_due=1300)
    event_id = json.loads(body)["id"]
    headers = {"Stripe-Signature": _stripe_signature(stack.secrets.stripe_webhook_secret, body)}

    first = gateway.post("/webhooks/stripe", content=body, headers=headers)
    poll(lambda: _outbox_row(stack, event_id) == ("delivered", "applied", 1), seconds=20)
    again = gateway.post("/webhooks/stripe", content=body, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"received": True, "event_id": event_id, "outcome": "duplicate"}
    assert _outbox_row(stack, event_id) == ("delivered", "applied", 1), "not relayed again"
    assert _billing(stack, customer) == ("past_due", 1300)


@pytest.mark.parametrize(
    ("secret", "age_seconds", "code"),
    [("whsec_forged", 0, "invalid_signature"), (None, 3600, "invalid_signature")],
)
def test_bad_signature_changes_nothing(
    stack: Stack, gateway: httpx.Client, secret: str | None, age_seconds: int, code: str
) -> None:
    customer = _active_customers()[1]
    before = _billing(stack, customer)
    body = _event("customer.subscription.deleted", customer)
    signature = _stripe_signature(
        secret or stack.secrets.stripe_webhook_secret, body, int(time.time()) - age_seconds
    )

    response = gateway.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert _outbox_row(stack, json.loads(body)["id"]) is None, "a refused event is never stored"
    assert _billing(stack, customer) == before


def test_missing_signature_is_refused(stack: Stack, gateway: httpx.Client) -> None:
    response = gateway.post("/webhooks/stripe", content=_event("invoice.paid", "cus_x"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_signature"


def test_standard_webhooks_delivery_changes_billing_state(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    customer = _active_customers()[3]
    msg_id = f"msg_{uuid.uuid4().hex}"
    event = {
        "type": "invoice.payment_failed",
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {"object": {"object": "invoice", "customer": customer, "amount_due": 990}},
    }
    body = json.dumps(event)
    signature = Webhook(stack.secrets.standard_webhook_secret).sign(msg_id, datetime.now(UTC), body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }

    response = gateway.post("/webhooks/standard", content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.headers["x-service"] == "webhooks"
    assert response.json() == {"received": True, "event_id": msg_id, "outcome": "accepted"}
    poll(lambda: _billing(stack, customer) == ("past_due", 990), seconds=20)
    poll(lambda: _outbox_row(stack, msg_id) == ("delivered", "applied", 1), seconds=20)


def test_a_future_timestamp_is_refused_through_the_gateway(
    stack: Stack, gateway: httpx.Client
) -> None:
    body = _event("invoice.paid", _active_customers()[4])
    signature = _stripe_signature(
        stack.secrets.stripe_webhook_secret, body, int(time.time()) + 3600
    )

    response = gateway.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert _outbox_row(stack, json.loads(body)["id"]) is None
