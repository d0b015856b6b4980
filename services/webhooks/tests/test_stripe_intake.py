"""POST /webhooks/stripe in-process: a Stripe-signed delivery is stored, then answered."""

import json
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from strangler_shared.webhook_intake import TIMESTAMP_TOLERANCE_SECONDS
from strangler_testing.webhooks import (
    SIGNING_SECRET,
    AppFactory,
    RunningCore,
    StripeSender,
    stripe_event,
    wait_for,
)

STALE = 600
TOLERANCE = TIMESTAMP_TOLERANCE_SECONDS


def _event_with_id(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "type": "invoice.paid"}).encode()


DEADLINE_SECONDS = 5.0


def _rows(outbox_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(outbox_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM outbox")]


def test_valid_delivery_is_stored_then_accepted(
    client: FlaskClient, core: RunningCore, sender: StripeSender, outbox_path: Path
) -> None:
    body = stripe_event("invoice.payment_failed")
    before = datetime.now(UTC)

    response = sender.post(client, body)

    event_id = json.loads(body)["id"]
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"received": True, "event_id": event_id, "outcome": "accepted"}
    assert response.headers["X-Service"] == "webhooks"
    [row] = _rows(outbox_path)
    assert (row["event_id"], row["source"], row["type"]) == (
        event_id,
        "stripe",
        "invoice.payment_failed",
    )
    assert row["payload"] == body
    assert row["status"] == "pending"
    assert row["ordering_key"] == "customer:cus_123", "ordered with the customer's other events"
    assert before <= datetime.fromisoformat(row["received_at"]) <= datetime.now(UTC)
    assert core.servicer.calls == [], "with the relay off, nothing reaches core"


def test_redelivery_is_acknowledged_without_a_second_row(
    client: FlaskClient, sender: StripeSender, outbox_path: Path
) -> None:
    body = stripe_event()

    first = sender.post(client, body)
    again = sender.post(client, body)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.get_json()["outcome"] == "duplicate"
    assert len(_rows(outbox_path)) == 1


def test_storage_failure_is_503_and_never_a_2xx(
    client: FlaskClient, sender: StripeSender, outbox_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(outbox_path) as db:
        db.execute("DROP TABLE outbox")

    response = sender.post(client, stripe_event())

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "storage_unavailable"
    assert "retry" in response.get_json()["error"]["message"]
    assert "outbox" not in response.get_json()["error"]["message"], "no internals to the sender"
    assert any(
        r.levelno == logging.ERROR and "could not store" in r.getMessage() for r in caplog.records
    )


def test_accepted_event_wakes_the_relay(
    make_app: AppFactory, core: RunningCore, sender: StripeSender
) -> None:
    # A poll interval far beyond the deadline: only the intake's wake-up can deliver in time.
    app = make_app(CORE_GRPC_TARGET=core.target, OUTBOX_RELAY=True, OUTBOX_POLL_SECONDS=60)
    body = stripe_event()

    response = sender.post(app.test_client(), body)

    assert response.status_code == 202
    [call] = wait_for(lambda: core.servicer.calls, seconds=DEADLINE_SECONDS)
    assert call.request.payload == body


def test_missing_signature_is_refused_and_nothing_stored(
    client: FlaskClient, outbox_path: Path
) -> None:
    response = client.post("/webhooks/stripe", data=stripe_event())

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_signature"
    assert _rows(outbox_path) == []


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: StripeSender("whsec_forged").signature(body), id="wrong-secret"),
        pytest.param(
            lambda body: StripeSender(SIGNING_SECRET).signature(body + b" "), id="other-body"
        ),
        pytest.param(
            lambda body: StripeSender(SIGNING_SECRET).signature(body, int(time.time()) - STALE),
            id="stale",
        ),
        pytest.param(lambda body: "t=abc,v1=00", id="malformed"),
        pytest.param(lambda body: f"t={int(time.time())}", id="no-v1"),
    ],
)
def test_bad_signature_is_refused_and_nothing_stored(
    client: FlaskClient, outbox_path: Path, forge: Callable[[bytes], str]
) -> None:
    body = stripe_event()

    response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": forge(body)})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert response.get_json()["error"]["message"]
    assert _rows(outbox_path) == []


@pytest.mark.parametrize("offset", [-TOLERANCE - 60, TOLERANCE + 60, 3600])
def test_timestamp_outside_the_window_either_way_is_refused(
    client: FlaskClient, sender: StripeSender, outbox_path: Path, offset: int
) -> None:
    response = sender.post(client, stripe_event(), timestamp=int(time.time()) + offset)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert _rows(outbox_path) == []


@pytest.mark.parametrize("offset", [-TOLERANCE + 30, TOLERANCE - 30])
def test_timestamp_inside_the_window_either_way_is_accepted(
    client: FlaskClient, sender: StripeSender, offset: int
) -> None:
    response = sender.post(client, stripe_event(), timestamp=int(time.time()) + offset)

    assert response.status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"type": "invoice.paid"}', id="no-id"),
        pytest.param(b'{"id": "evt_1", "type": 7}', id="type-not-string"),
        pytest.param(b'{"id": "", "type": "invoice.paid"}', id="empty-id"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(_event_with_id("e" * 256), id="id-over-255"),
        pytest.param(_event_with_id("evt\n1"), id="id-control-char"),
        pytest.param(b'{"id": "\\ud800", "type": "invoice.paid"}', id="id-lone-surrogate"),
        pytest.param(b'{"id": "evt_1", "type": "' + b"t" * 101 + b'"}', id="type-over-100"),
        pytest.param(b'{"id": "evt_1", "type": "x", "n": NaN}', id="nan"),
        pytest.param(
            b'{"id": "evt_1", "type": "x", "d": ' + b"[" * 40 + b"]" * 40 + b"}", id="deep"
        ),
        pytest.param(
            b'{"id": "evt_1", "type": "x", "d": ' + b"[" * 5000 + b"]" * 5000 + b"}", id="very-deep"
        ),
    ],
)
def test_signed_body_that_is_not_an_event_is_refused(
    client: FlaskClient, sender: StripeSender, outbox_path: Path, body: bytes
) -> None:
    headers = {"Stripe-Signature": sender.signature(body)}

    response = client.post("/webhooks/stripe", data=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_event"
    assert _rows(outbox_path) == []


def test_acceptance_is_logged_with_id_and_type(
    client: FlaskClient, sender: StripeSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    body = stripe_event("invoice.paid")

    sender.post(client, body)

    [record] = [r for r in caplog.records if r.name == "webhooks.intake"]
    assert isinstance(record.args, tuple)
    assert json.loads(body)["id"] in record.args
    assert "invoice.paid" in record.args
    assert "accepted" in record.getMessage()


def test_the_stripe_library_is_loaded_before_the_first_delivery() -> None:
    # The stripe package imports its webhook code on first use; a fresh adapter process must
    # not pay that on the first delivery it acknowledges. A new interpreter, as a worker starts.
    probe = "import sys\nfrom webhooks import create_app\nprint('stripe._webhook' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "True"
