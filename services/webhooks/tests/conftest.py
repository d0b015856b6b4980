"""Fixtures of the adapter's tests: a fresh app per test, a Stripe-like sender, a real gRPC core."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from webhooks import create_app
from webhooks.intake import EXTENSION_KEY
from webhooks.testing import (
    SIGNING_SECRET,
    TOKEN,
    AppFactory,
    RunningCore,
    StripeSender,
    serve_core,
)


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
def make_app() -> Iterator[AppFactory]:
    """Return a factory of fresh apps (secret and token set), closing each one's channel after."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app(
            {"STRIPE_SIGNING_SECRET": SIGNING_SECRET, "SERVICE_TOKEN": TOKEN, **config}
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[EXTENSION_KEY].close()


@pytest.fixture
def app(make_app: AppFactory, core: RunningCore) -> Flask:
    """Return a fresh app wired to the stand-in core."""
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
