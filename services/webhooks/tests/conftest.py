"""Fixtures of the adapter's tests: fresh apps and outboxes per test, a real gRPC core, a clock."""

import base64
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry.trace import TracerProvider
from strangler_testing.webhooks import (
    LEASE_SECONDS,
    RETRY_BASE_SECONDS,
    RETRY_CAP_SECONDS,
    SIGNING_SECRET,
    TOKEN,
    AppFactory,
    ManualClock,
    RelayFactory,
    RunningCore,
    StandardSender,
    StripeSender,
    serve_core,
)
from webhooks import close_app, create_app
from webhooks.config import OutboxSettings
from webhooks.forwarder import CoreForwarder
from webhooks.outbox import Outbox
from webhooks.relay import Relay

STANDARD_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture
def standard_sender() -> StandardSender:
    """Return a Standard Webhooks sender holding the app's secret."""
    return StandardSender(STANDARD_SECRET)


@pytest.fixture
def standard_sender_with() -> type[StandardSender]:
    """Return the sender class, for senders holding other secrets (a rotation)."""
    return StandardSender


@pytest.fixture
def core() -> Iterator[RunningCore]:
    """Run the stand-in core for one test."""
    with serve_core() as running:
        yield running


@pytest.fixture
def dead_target() -> Iterator[str]:
    """Return an address where nothing listens, kept reserved for the test's duration."""
    # A bound socket that never listens refuses connections and cannot be taken by anyone else.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{reserved.getsockname()[1]}"


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    """Return where this test's outbox lives (each test has its own)."""
    return tmp_path / "outbox.sqlite3"


@pytest.fixture
def clock() -> ManualClock:
    """Return a clock for the test's outboxes."""
    return ManualClock()


@pytest.fixture
def make_app(outbox_path: Path) -> Iterator[AppFactory]:
    """Return a factory of fresh apps on the test's outbox, relay off unless asked; close after."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        defaults = {
            "STRIPE_SIGNING_SECRET": SIGNING_SECRET,
            "STANDARD_SIGNING_SECRET": STANDARD_SECRET,
            "SERVICE_TOKEN": TOKEN,
            "OUTBOX_PATH": str(outbox_path),
            "OUTBOX_RELAY": False,
        }
        app = create_app({**defaults, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def make_relay(outbox_path: Path, clock: ManualClock) -> Iterator[RelayFactory]:
    """Return a factory of relays on the test's outbox and clock; close them after."""
    relays: list[Relay] = []

    def make(
        target: str,
        *,
        token: str = TOKEN,
        timeout_seconds: float = 5.0,
        poll_seconds: float = 1.0,
        tracer_provider: TracerProvider | None = None,
        real_clock: bool = False,
        max_age_seconds: float = 3 * 24 * 3600.0,
        retention_seconds: float = 7 * 24 * 3600.0,
    ) -> Relay:
        outbox = Outbox(outbox_path) if real_clock else Outbox(outbox_path, clock=clock)
        outbox.initialize()
        settings = OutboxSettings(
            path=outbox_path,
            relay=True,
            poll_seconds=poll_seconds,
            lease_seconds=LEASE_SECONDS,
            retry_base_seconds=RETRY_BASE_SECONDS,
            retry_cap_seconds=RETRY_CAP_SECONDS,
            max_age_seconds=max_age_seconds,
            retention_seconds=retention_seconds,
        )
        forwarder = CoreForwarder(target, token, timeout_seconds=timeout_seconds)
        # The jitter at its top: every wait is exactly the capped doubling.
        relay = Relay(
            outbox, forwarder, settings, tracer_provider=tracer_provider, rand=lambda: 1.0
        )
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        relay.close()


@pytest.fixture
def outbox(outbox_path: Path, clock: ManualClock) -> Iterator[Outbox]:
    """Return the test's outbox on the manual clock, created; close its connections after."""
    store = Outbox(outbox_path, clock=clock)
    store.initialize()
    yield store
    store.close()


@pytest.fixture
def app(make_app: AppFactory, core: RunningCore) -> Flask:
    """Return a fresh app wired to the stand-in core, its relay off."""
    return make_app(CORE_GRPC_TARGET=core.target)


@pytest.fixture
def offline_app(make_app: AppFactory, dead_target: str) -> Flask:
    """Return a fresh app whose core is down."""
    return make_app(CORE_GRPC_TARGET=dead_target)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client of the fresh app."""
    return app.test_client()


@pytest.fixture
def sender() -> StripeSender:
    """Return a sender that holds the app's signing secret."""
    return StripeSender(SIGNING_SECRET)
