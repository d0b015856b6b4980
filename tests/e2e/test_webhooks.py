"""A signed webhook through the gateway changes core's billing state; a forged one does not."""

import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import pytest
from devstack import Stack

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


def _active_customers() -> list[str]:
    customers = json.loads(CUSTOMERS.read_text())
    return [
        c["billing"]["provider_customer_id"]
        for c in customers
        if c["billing"]["subscription_status"] == "active"
    ]


def test_signed_webhook_changes_billing_state(stack: Stack, gateway: httpx.Client) -> None:
    customer = _active_customers()[0]
    body = _event("invoice.payment_failed", customer, amount_due=4200)
    signature = _stripe_signature(stack.secrets.stripe_webhook_secret, body)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}

    response = gateway.post("/webhooks/stripe", content=body, headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["x-service"] == "webhooks"
    assert response.json()["outcome"] == "applied"
    assert _billing(stack, customer) == ("past_due", 4200)
    again = gateway.post("/webhooks/stripe", content=body, headers=headers)
    assert again.json()["outcome"] == "duplicate"


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
    assert _billing(stack, customer) == before


def test_missing_signature_is_refused(stack: Stack, gateway: httpx.Client) -> None:
    response = gateway.post("/webhooks/stripe", content=_event("invoice.paid", "cus_x"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_signature"
