"""The Flask webhook adapter: verifies signed deliveries and forwards them to core over gRPC."""

from collections.abc import Mapping
from typing import Any

import flask
from flask import Flask, Response

from webhooks.blueprints import health, stripe
from webhooks.config import DEFAULTS, ENV_PREFIX, Settings, load_settings
from webhooks.errors import register_error_handlers
from webhooks.forwarder import CoreForwarder
from webhooks.intake import EXTENSION_KEY, Intake
from webhooks.signatures import build_verifiers

SERVICE_NAME = "webhooks"

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the adapter: load and check its settings, wire the intake, register the routes."""
    # Looked up on the module at call time: FlaskInstrumentor().instrument() swaps flask.Flask for
    # an instrumented subclass, which must apply even if this module was imported earlier.
    app = flask.Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env(ENV_PREFIX)
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.extensions[EXTENSION_KEY] = _build_intake(load_settings(app.config))
    app.register_blueprint(health.bp)
    app.register_blueprint(stripe.bp)
    register_error_handlers(app)
    app.after_request(_add_service_header)
    return app


def _build_intake(settings: Settings) -> Intake:
    forwarder = CoreForwarder(
        settings.core_grpc_target,
        settings.service_token,
        timeout_seconds=settings.core_grpc_timeout_seconds,
    )
    return Intake(build_verifiers(settings), forwarder)


def _add_service_header(response: Response) -> Response:
    # Behind the gateway, this header says which process answered (legacy core or the adapter).
    response.headers["X-Service"] = SERVICE_NAME
    return response
