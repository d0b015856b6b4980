"""POST /webhooks/standard: Standard Webhooks deliveries, checked by the standardwebhooks library.

The sender signs with the library's own ``Webhook.sign``; the event id is the ``webhook-id`` header
and the type is the body's ``type``. Secrets rotate: while a source lists two, both verify; once
the old one is removed, a delivery signed with it is refused.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from strangler_shared.webhook_intake import TIMESTAMP_TOLERANCE_SECONDS
from strangler_testing.webhooks import (
    SIGNING_SECRET,
    AppFactory,
    RunningCore,
    StandardSender,
    StripeSender,
    stripe_event,
)
from werkzeug.test import TestResponse

NEW_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"


def _rows(outbox_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(outbox_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM outbox")]


def _send(sender: StandardSender, client: FlaskClient) -> TestResponse:
    return sender.post(client, sender.event(), sender.message_id())


def test_signed_delivery_is_stored_with_the_header_id(
    client: FlaskClient, standard_sender: StandardSender, outbox_path: Path
) -> None:
    body, msg_id = standard_sender.event("invoice.payment_failed"), standard_sender.message_id()

    response = standard_sender.post(client, body, msg_id)

    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"received": True, "event_id": msg_id, "outcome": "accepted"}
    [row] = _rows(outbox_path)
    assert (row["event_id"], row["source"], row["type"], row["payload"]) == (
        msg_id,
        "standard",
        "invoice.payment_failed",
        body,
    )


def test_redelivery_of_the_same_message_is_a_duplicate(
    client: FlaskClient, standard_sender: StandardSender, outbox_path: Path
) -> None:
    body, msg_id = standard_sender.event(), standard_sender.message_id()

    first = standard_sender.post(client, body, msg_id)
    again = standard_sender.post(client, body, msg_id)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["outcome"] == "duplicate"
    assert len(_rows(outbox_path)) == 1


def test_a_standard_delivery_on_the_stripe_path_is_refused(
    client: FlaskClient, standard_sender: StandardSender
) -> None:
    body = standard_sender.event()
    headers = standard_sender.headers(body, standard_sender.message_id())

    response = client.post("/webhooks/stripe", data=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_signature"


@pytest.mark.parametrize("dropped", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(
    client: FlaskClient, standard_sender: StandardSender, outbox_path: Path, dropped: str
) -> None:
    body = standard_sender.event()
    headers = standard_sender.headers(body, standard_sender.message_id())
    del headers[dropped]

    response = client.post("/webhooks/standard", data=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_signature"
    assert dropped in response.get_json()["error"]["message"]
    assert _rows(outbox_path) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"webhook-signature": "v1,AAAA"}, id="wrong-signature"),
        pytest.param({"webhook-signature": "garbage"}, id="malformed-signature"),
        pytest.param({"webhook-signature": "v1,@@@"}, id="not-base64"),
        pytest.param({"webhook-timestamp": "soon"}, id="malformed-timestamp"),
        pytest.param({"webhook-id": "msg_other"}, id="other-id"),
    ],
)
def test_bad_signature_is_refused(
    client: FlaskClient,
    standard_sender: StandardSender,
    outbox_path: Path,
    change: dict[str, str],
) -> None:
    body = standard_sender.event()
    headers = standard_sender.headers(body, standard_sender.message_id()) | change

    response = client.post("/webhooks/standard", data=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert _rows(outbox_path) == []


@pytest.mark.parametrize("offset", [-TIMESTAMP_TOLERANCE_SECONDS - 60, 3600])
def test_timestamp_outside_the_window_is_refused(
    client: FlaskClient, standard_sender: StandardSender, offset: int
) -> None:
    timestamp = int(time.time()) + offset

    response = standard_sender.post(
        client, standard_sender.event(), standard_sender.message_id(), timestamp
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    ("body", "msg_id"),
    [
        pytest.param(b'{"data": {}}', "msg_no_type", id="no-type"),
        pytest.param(b'{"type": "invoice.paid"}', "m" * 256, id="id-over-255"),
        pytest.param(b"[]", "msg_a_list", id="not-an-object"),
    ],
)
def test_signed_body_core_cannot_apply_is_refused(
    client: FlaskClient, standard_sender: StandardSender, body: bytes, msg_id: str
) -> None:
    response = standard_sender.post(client, body, msg_id)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_event"


def test_rotation_accepts_both_secrets_then_refuses_the_old(
    make_app: AppFactory,
    core: RunningCore,
    standard_sender: StandardSender,
    standard_sender_with: type[StandardSender],
) -> None:
    old, new = standard_sender, standard_sender_with(NEW_SECRET)
    rotating = make_app(
        CORE_GRPC_TARGET=core.target, STANDARD_SIGNING_SECRET=[NEW_SECRET, old.secret]
    ).test_client()
    during = [
        sender.post(rotating, standard_sender.event(), standard_sender.message_id()).status_code
        for sender in (old, new)
    ]
    rotated = make_app(CORE_GRPC_TARGET=core.target, STANDARD_SIGNING_SECRET=NEW_SECRET)

    after_old = old.post(
        rotated.test_client(), standard_sender.event(), standard_sender.message_id()
    )
    after_new = new.post(
        rotated.test_client(), standard_sender.event(), standard_sender.message_id()
    )

    assert during == [202, 202]
    assert after_old.status_code == 400
    assert after_old.get_json()["error"]["code"] == "invalid_signature"
    assert after_new.status_code == 202


def test_stripe_rotation_accepts_both_secrets_then_refuses_the_old(
    make_app: AppFactory, core: RunningCore
) -> None:
    new_secret = "whsec_rotated" + "0" * 20
    old, new = StripeSender(SIGNING_SECRET), StripeSender(new_secret)
    rotating = make_app(
        CORE_GRPC_TARGET=core.target, STRIPE_SIGNING_SECRET=[SIGNING_SECRET, new_secret]
    ).test_client()
    rotated = make_app(CORE_GRPC_TARGET=core.target, STRIPE_SIGNING_SECRET=new_secret)

    during = [s.post(rotating, stripe_event()).status_code for s in (old, new)]
    after = [s.post(rotated.test_client(), stripe_event()).status_code for s in (old, new)]

    assert during == [202, 202]
    assert after == [400, 202]


def test_event_ids_are_per_delivery_not_per_body(
    client: FlaskClient, standard_sender: StandardSender
) -> None:
    body = standard_sender.event()

    answers = [standard_sender.post(client, body, standard_sender.message_id()) for _ in range(2)]

    assert [a.status_code for a in answers] == [202, 202]
    assert len({json.dumps(a.get_json()) for a in answers}) == 2
