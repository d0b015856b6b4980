"""Test doubles speaking the real protocols: a Stripe-style sender and a recording core.

A manual clock lets the outbox's leases and backoff be tested without waiting for them.

The stand-in core is a real ``grpc.server`` on a free port with the project's token interceptor and
a small servicer that records every ``ApplyEvent`` call, so the adapter is tested over the same
wire protocol it uses in production.
"""

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import grpc
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks.webhooks import Webhook
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import ServiceTokenServerInterceptor
from webhooks.relay import Relay
from werkzeug.test import TestResponse

from strangler_testing.polling import wait_until

TOKEN = secrets.token_urlsafe(32)
SIGNING_SECRET = "whsec_" + secrets.token_hex(24)

AppFactory = Callable[..., Flask]
RelayFactory = Callable[..., Relay]
# The outbox settings of relays made in tests: short waits, so backoff is visible in a few steps.
LEASE_SECONDS = 30.0
RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 8.0
T = TypeVar("T")


def wait_for(check: Callable[[], T], *, seconds: float = 10.0) -> T:
    """Return ``check()`` once it is truthy; fail if that takes longer than ``seconds``."""
    return wait_until(check, timeout=seconds, every=0.01)


@dataclass
class ManualClock:
    """A clock (epoch seconds) that moves only when told."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        """Return the current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass
class StripeSender:
    """Sign and send deliveries the way Stripe does."""

    secret: str

    def signature(self, body: bytes, timestamp: int | None = None) -> str:
        """Return a ``Stripe-Signature`` header: v1 = HMAC-SHA256 over "<t>.<body>"."""
        t = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(self.secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        return f"t={t},v1={digest.hexdigest()}"

    def post(self, client: FlaskClient, body: bytes, timestamp: int | None = None) -> TestResponse:
        """POST a signed delivery to the adapter's Stripe endpoint."""
        headers = {"Stripe-Signature": self.signature(body, timestamp)}
        return client.post("/webhooks/stripe", data=body, headers=headers)


def stripe_event(event_type: str = "invoice.paid") -> bytes:
    """Return a Stripe-shaped event body with a fresh id."""
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": event_type,
        "data": {"object": {"object": "invoice", "customer": "cus_123", "amount_due": 4200}},
    }
    return json.dumps(event).encode()


@dataclass
class ApplyEventCall:
    """One ApplyEvent call as core saw it."""

    request: core_pb2.ApplyEventRequest
    metadata: dict[str, str]
    peer: str


@dataclass
class RecordingCore(core_pb2_grpc.CoreServiceServicer):
    """A CoreService that records ApplyEvent calls and answers as told."""

    outcome: core_pb2.ApplyEventResponse.Outcome = core_pb2.ApplyEventResponse.APPLIED
    abort_with: grpc.StatusCode | None = None
    stall: bool = False
    delay_seconds: float = 0.0
    calls: list[ApplyEventCall] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def ApplyEvent(
        self, request: core_pb2.ApplyEventRequest, context: grpc.ServicerContext
    ) -> core_pb2.ApplyEventResponse:
        """Record the call, then answer with the configured outcome or status."""
        metadata = {key: str(value) for key, value in context.invocation_metadata()}
        self.calls.append(ApplyEventCall(request, metadata, context.peer()))
        if self.stall:
            self.released.wait(timeout=10)
        elif self.delay_seconds:
            self.released.wait(timeout=self.delay_seconds)
        if self.abort_with is not None:
            context.abort(self.abort_with, "refused by the test servicer")
        return core_pb2.ApplyEventResponse(outcome=self.outcome, detail="test")


@dataclass
class RunningCore:
    """The stand-in core: where it listens and what it recorded."""

    target: str
    servicer: RecordingCore


@contextmanager
def serve_core(token: str = TOKEN, port: int = 0) -> Iterator[RunningCore]:
    """Serve a recording CoreService on ``port`` (a free one by default), with the token check."""
    servicer = RecordingCore()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[ServiceTokenServerInterceptor(token)],
    )
    core_pb2_grpc.add_CoreServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield RunningCore(f"127.0.0.1:{port}", servicer)
    finally:
        servicer.released.set()
        server.stop(grace=None).wait()


@dataclass
class StandardSender:
    """Sign and send deliveries the way a Standard Webhooks sender does, with its library."""

    secret: str

    def headers(self, body: bytes, msg_id: str, timestamp: int | None = None) -> dict[str, str]:
        """Return the three ``webhook-*`` headers of a delivery of ``body``."""
        t = int(time.time()) if timestamp is None else timestamp
        signed_at = datetime.fromtimestamp(t, tz=UTC)
        signature = Webhook(self.secret).sign(msg_id, signed_at, body.decode())
        return {"webhook-id": msg_id, "webhook-timestamp": str(t), "webhook-signature": signature}

    def post(
        self, client: FlaskClient, body: bytes, msg_id: str, timestamp: int | None = None
    ) -> TestResponse:
        """POST a signed delivery to the adapter's Standard Webhooks endpoint."""
        headers = self.headers(body, msg_id, timestamp)
        return client.post("/webhooks/standard", data=body, headers=headers)

    @staticmethod
    def event(event_type: str = "invoice.paid") -> bytes:
        """Return a Standard Webhooks payload (``type``, ``timestamp``, ``data``)."""
        event = {
            "type": event_type,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"object": {"object": "invoice", "customer": "cus_123", "amount_due": 4200}},
        }
        return json.dumps(event).encode()

    @staticmethod
    def message_id() -> str:
        """Return a fresh ``webhook-id``."""
        return f"msg_{uuid.uuid4().hex}"
