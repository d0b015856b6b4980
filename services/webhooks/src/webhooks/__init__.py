"""The Flask webhook adapter: verifies signed deliveries, stores them, and relays them to core."""

from collections.abc import Mapping
from typing import Any, cast

import flask
from flask import Flask, Response
from strangler_shared import SERVICE_HEADER

from webhooks.blueprints import health, intake
from webhooks.config import DEFAULTS, ENV_PREFIX, ConfigError, Settings, load_settings
from webhooks.errors import register_error_handlers
from webhooks.forwarder import CoreForwarder
from webhooks.intake import EXTENSION_KEY, Intake
from webhooks.outbox import Outbox
from webhooks.relay import Relay
from webhooks.verifiers import VERIFIERS, Verifier

SERVICE_NAME = "webhooks"
RELAY_EXTENSION_KEY = "webhooks.relay"
OUTBOX_EXTENSION_KEY = "webhooks.outbox"

__all__ = ["close_app", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the adapter: check its settings, open the outbox, start the relay, add routes."""
    # Looked up on the module at call time: FlaskInstrumentor().instrument() swaps flask.Flask for
    # an instrumented subclass, which must apply even if this module was imported earlier.
    app = flask.Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env(ENV_PREFIX)
    if test_config is not None:
        app.config.from_mapping(test_config)
    settings = load_settings(app.config, VERIFIERS)
    outbox = Outbox(settings.outbox.path)
    outbox.initialize()
    relay = _build_relay(settings, outbox)
    app.extensions[RELAY_EXTENSION_KEY] = relay
    app.extensions[OUTBOX_EXTENSION_KEY] = outbox
    app.extensions[EXTENSION_KEY] = Intake(build_verifiers(settings), outbox, relay.wake)
    app.register_blueprint(health.bp)
    app.register_blueprint(intake.blueprint(list(settings.signing_secrets)))
    register_error_handlers(app)
    app.after_request(_add_service_header)
    if settings.outbox.relay:
        # Here rather than at import: gunicorn calls the factory in each worker, after the fork.
        relay.start()
    return app


def close_app(app: Flask) -> None:
    """Stop the app's relay after its current delivery, then close its channel and outbox."""
    cast(Relay, app.extensions[RELAY_EXTENSION_KEY]).close()
    cast(Outbox, app.extensions[OUTBOX_EXTENSION_KEY]).close()


def _build_relay(settings: Settings, outbox: Outbox) -> Relay:
    forwarder = CoreForwarder(
        settings.core_grpc_target,
        settings.service_token,
        timeout_seconds=settings.core_grpc_timeout_seconds,
    )
    return Relay(outbox, forwarder, settings.outbox)


def build_verifiers(settings: Settings) -> dict[str, Verifier]:
    """Return a verifier for every source that has signing secrets."""
    verifiers = {}
    for source, secrets in settings.signing_secrets.items():
        try:
            verifiers[source] = VERIFIERS[source](secrets)
        except ValueError as error:
            raise ConfigError(f"{ENV_PREFIX}_{source.upper()}_SIGNING_SECRET: {error}") from None
    return verifiers


def _add_service_header(response: Response) -> Response:
    # Behind the gateway, this header says which process answered (legacy core or the adapter).
    response.headers[SERVICE_HEADER] = SERVICE_NAME
    return response
