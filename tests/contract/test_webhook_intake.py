"""POST /webhooks/stripe: the same answer from the legacy view (core) and the adapter (webhooks).

During the migration a delivery may land on either, so each intake case is sent, unchanged, to
both real servers on their own ports: a valid event gets a 2xx (and its re-delivery a 2xx
``duplicate``); every refusal gets the same status and machine code in the JSON error envelope;
an oversized body gets a 413 answer, never a dropped connection. The rules behind the answers
live in ``strangler_shared.webhook_intake``.
"""

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from devstack import Stack
from strangler_shared.webhook_intake import MAX_BODY_BYTES, TIMESTAMP_TOLERANCE_SECONDS

pytestmark = pytest.mark.stack

MIB = 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    """A body and the Stripe-Signature to send with it (None: no header)."""

    body: bytes
    signature: str | None


@pytest.fixture(params=["core", "webhooks"])
def intake(request: pytest.FixtureRequest, stack: Stack) -> Iterator[httpx.Client]:
    """A client for one implementation of Stripe intake, talking to it directly."""
    ports = stack.config.ports
    port = {"core": ports.core_http, "webhooks": ports.webhooks}[request.param]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        client.headers["x-expected-service"] = request.param
        yield client


@pytest.fixture
def sign(stack: Stack) -> Callable[..., Delivery]:
    """Return a signer with the stack's Stripe secret (or another, or at another time)."""

    def signed(body: bytes, *, secret: str | None = None, offset: int = 0) -> Delivery:
        key = (secret or stack.secrets.stripe_webhook_secret).encode()
        t = int(time.time()) + offset
        digest = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return Delivery(body, f"t={t},v1={digest}")

    return signed


def _event(event_id: str | None = None, **extra: object) -> bytes:
    # A customer no account has: core records the event as ignored and changes no state.
    event = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "type": "invoice.paid",
        "data": {"object": {"object": "invoice", "customer": "cus_contract_nobody"}},
        **extra,
    }
    return json.dumps(event).encode()


def _post(intake: httpx.Client, delivery: Delivery) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if delivery.signature is not None:
        headers["Stripe-Signature"] = delivery.signature
    response = intake.post("/webhooks/stripe", content=delivery.body, headers=headers)
    assert response.headers["x-service"] == intake.headers["x-expected-service"]
    return response


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text


def test_a_valid_event_is_acknowledged_and_its_redelivery_is_a_duplicate(
    intake: httpx.Client, sign: Callable[..., Delivery]
) -> None:
    body = _event()

    first = _post(intake, sign(body))
    again = _post(intake, sign(body))

    assert first.status_code in (200, 202), first.text
    assert first.json()["received"] is True
    assert first.json()["event_id"] == json.loads(body)["id"]
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"


def test_an_id_of_255_characters_is_acknowledged(
    intake: httpx.Client, sign: Callable[..., Delivery]
) -> None:
    event_id = f"evt_{uuid.uuid4().hex}".ljust(255, "x")

    response = _post(intake, sign(_event(event_id)))

    assert response.status_code in (200, 202), response.text


def test_missing_signature(intake: httpx.Client) -> None:
    _refused(_post(intake, Delivery(_event(), None)), 400, "missing_signature")


@pytest.mark.parametrize(
    ("secret", "offset"),
    [
        pytest.param("whsec_forged", 0, id="wrong-secret"),
        pytest.param(None, -TIMESTAMP_TOLERANCE_SECONDS - 60, id="stale"),
        pytest.param(None, 3600, id="future"),
        pytest.param(None, TIMESTAMP_TOLERANCE_SECONDS + 60, id="just-past-the-future-edge"),
    ],
)
def test_bad_signatures(
    intake: httpx.Client, sign: Callable[..., Delivery], secret: str | None, offset: int
) -> None:
    _refused(_post(intake, sign(_event(), secret=secret, offset=offset)), 400, "invalid_signature")


def test_garbled_signature_header(intake: httpx.Client) -> None:
    _refused(_post(intake, Delivery(_event(), "t=abc,v1=zz")), 400, "invalid_signature")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"type": "invoice.paid"}', id="no-id"),
        pytest.param(b'{"id": 5, "type": "invoice.paid"}', id="id-not-text"),
        pytest.param(_event("e" * 256), id="id-over-255"),
        pytest.param(b'{"id": "evt_t", "type": "' + b"t" * 101 + b'"}', id="type-over-100"),
        pytest.param(b'{"id": "evt\\u0000x", "type": "invoice.paid"}', id="id-control-char"),
        pytest.param(b'{"id": "evt_n", "type": "invoice.paid", "n": NaN}', id="nan"),
        pytest.param(
            b'{"id": "evt_d", "type": "invoice.paid", "d": ' + b"[" * 40 + b"]" * 40 + b"}",
            id="nested-40",
        ),
        pytest.param(
            b'{"id": "evt_d", "type": "invoice.paid", "d": ' + b"[" * 9000 + b"]" * 9000 + b"}",
            id="nested-9000",
        ),
        pytest.param(b'{"id": "evt_u", "type": "invoice.paid", "x": "\xff\xfe"}', id="not-utf8"),
    ],
)
def test_signed_bodies_core_cannot_apply(
    intake: httpx.Client, sign: Callable[..., Delivery], body: bytes
) -> None:
    _refused(_post(intake, sign(body)), 400, "invalid_event")


def test_a_signed_body_of_one_and_a_half_mib(
    intake: httpx.Client, sign: Callable[..., Delivery]
) -> None:
    body = _event(padding="x" * (MIB + MIB // 2))
    assert len(body) > MAX_BODY_BYTES

    _refused(_post(intake, sign(body)), 413, "payload_too_large")


def test_twelve_mib_gets_an_answer_not_a_dropped_connection(intake: httpx.Client) -> None:
    response = _post(intake, Delivery(b"x" * (12 * MIB), None))

    _refused(response, 413, "payload_too_large")


def test_get_is_not_allowed(intake: httpx.Client) -> None:
    response = intake.get("/webhooks/stripe")

    _refused(response, 405, "method_not_allowed")


def test_twelve_mib_through_the_gateway_is_the_same_json_413(gateway: httpx.Client) -> None:
    response = gateway.post(
        "/webhooks/stripe", content=b"x" * (12 * MIB), headers={"Content-Type": "application/json"}
    )

    _refused(response, 413, "payload_too_large")
