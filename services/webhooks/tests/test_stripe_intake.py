"""POST /webhooks/stripe end to end in-process: a Stripe-signed delivery to a real gRPC core."""

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
import pytest
from flask.testing import FlaskClient
from strangler_contracts.core.v1 import core_pb2
from webhooks.testing import (
    SIGNING_SECRET,
    TOKEN,
    AppFactory,
    RunningCore,
    StripeSender,
    serve_core,
    stripe_event,
)

STALE = 600


def test_valid_delivery_is_forwarded_to_core(
    client: FlaskClient, core: RunningCore, sender: StripeSender
) -> None:
    body = stripe_event("invoice.payment_failed")
    before = datetime.now(UTC)

    response = sender.post(client, body)

    event_id = json.loads(body)["id"]
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"received": True, "event_id": event_id, "outcome": "applied"}
    assert response.headers["X-Service"] == "webhooks"
    [call] = core.servicer.calls
    assert call.request.event_id == event_id
    assert call.request.type == "invoice.payment_failed"
    assert call.request.source == "stripe"
    assert call.request.payload == body
    received_at = call.request.received_at.ToDatetime(tzinfo=UTC)
    assert before <= received_at <= datetime.now(UTC)
    assert call.metadata["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (core_pb2.ApplyEventResponse.DUPLICATE, "duplicate"),
        (core_pb2.ApplyEventResponse.IGNORED, "ignored"),
    ],
)
def test_core_outcome_is_passed_through(
    client: FlaskClient, core: RunningCore, sender: StripeSender, outcome: int, expected: str
) -> None:
    core.servicer.outcome = outcome

    response = sender.post(client, stripe_event())

    assert response.status_code == 200
    assert response.get_json()["outcome"] == expected


def test_delivery_is_logged_with_id_type_and_outcome(
    client: FlaskClient, sender: StripeSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    body = stripe_event("invoice.paid")

    sender.post(client, body)

    [record] = [r for r in caplog.records if r.name == "webhooks.intake"]
    assert isinstance(record.args, tuple)
    assert json.loads(body)["id"] in record.args
    assert "invoice.paid" in record.args
    assert "applied" in record.getMessage()


def test_missing_signature_is_refused_and_nothing_forwarded(
    client: FlaskClient, core: RunningCore
) -> None:
    response = client.post("/webhooks/stripe", data=stripe_event())

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_signature"
    assert core.servicer.calls == []


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
def test_bad_signature_is_refused_and_nothing_forwarded(
    client: FlaskClient, core: RunningCore, forge: Callable[[bytes], str]
) -> None:
    body = stripe_event()

    response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": forge(body)})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert response.get_json()["error"]["message"]
    assert core.servicer.calls == []


def test_signature_tolerance_is_configurable(
    make_app: AppFactory, core: RunningCore, sender: StripeSender
) -> None:
    client = make_app(CORE_GRPC_TARGET=core.target, STRIPE_TOLERANCE_SECONDS=30).test_client()
    now = int(time.time())

    too_old = sender.post(client, stripe_event(), timestamp=now - 90)
    recent = sender.post(client, stripe_event(), timestamp=now - 5)

    assert too_old.status_code == 400
    assert too_old.get_json()["error"]["code"] == "invalid_signature"
    assert recent.status_code == 200
    assert len(core.servicer.calls) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"type": "invoice.paid"}', id="no-id"),
        pytest.param(b'{"id": "evt_1", "type": 7}', id="type-not-string"),
        pytest.param(b'{"id": "", "type": "invoice.paid"}', id="empty-id"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
    ],
)
def test_signed_body_that_is_not_an_event_is_refused(
    client: FlaskClient, core: RunningCore, sender: StripeSender, body: bytes
) -> None:
    headers = {"Stripe-Signature": sender.signature(body)}

    response = client.post("/webhooks/stripe", data=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_event"
    assert core.servicer.calls == []


def test_core_down_is_503_so_the_sender_retries(
    make_app: AppFactory, dead_target: str, sender: StripeSender
) -> None:
    client = make_app(CORE_GRPC_TARGET=dead_target).test_client()

    response = sender.post(client, stripe_event())

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "core_unavailable"
    assert response.headers["X-Service"] == "webhooks"


def test_core_too_slow_is_503(
    make_app: AppFactory, core: RunningCore, sender: StripeSender
) -> None:
    core.servicer.stall = True
    client = make_app(CORE_GRPC_TARGET=core.target, CORE_GRPC_TIMEOUT_SECONDS=0.3).test_client()

    response = sender.post(client, stripe_event())

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "core_unavailable"


def test_core_invalid_argument_is_400_invalid_event(
    client: FlaskClient, core: RunningCore, sender: StripeSender
) -> None:
    core.servicer.abort_with = grpc.StatusCode.INVALID_ARGUMENT

    response = sender.post(client, stripe_event())

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_event"


def test_core_internal_failure_is_502(
    client: FlaskClient, core: RunningCore, sender: StripeSender
) -> None:
    core.servicer.abort_with = grpc.StatusCode.INTERNAL

    response = sender.post(client, stripe_event())

    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "upstream_error"


def test_token_refused_by_core_is_500_and_logged_loudly(
    make_app: AppFactory, sender: StripeSender, caplog: pytest.LogCaptureFixture
) -> None:
    with serve_core(token="x" * 40) as other_core:
        client = make_app(CORE_GRPC_TARGET=other_core.target).test_client()

        response = sender.post(client, stripe_event())

        assert other_core.servicer.calls == []
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "token" not in response.get_json()["error"]["message"].lower()
    assert any(
        r.levelno == logging.CRITICAL and "STRANGLER_SERVICE_TOKEN" in r.getMessage()
        for r in caplog.records
    )


def test_channel_is_opened_once_per_app(
    client: FlaskClient, core: RunningCore, sender: StripeSender
) -> None:
    for _ in range(3):
        assert sender.post(client, stripe_event()).status_code == 200

    assert len(core.servicer.calls) == 3
    assert len({call.peer for call in core.servicer.calls}) == 1
