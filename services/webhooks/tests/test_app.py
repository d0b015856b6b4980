"""The app factory and the HTTP behaviour every route shares: config, health, JSON errors."""

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from strangler_shared import InvalidSecretError
from strangler_shared.webhook_intake import MAX_BODY_BYTES
from strangler_testing.webhooks import SIGNING_SECRET, TOKEN, AppFactory
from webhooks import RELAY_EXTENSION_KEY, close_app, create_app
from webhooks.config import ConfigError
from webhooks.relay import Relay


def test_healthz_answers_ok_with_service_header(offline_app: Flask) -> None:
    response = offline_app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Service"] == "webhooks"


def test_unknown_route_is_a_json_404(offline_app: Flask) -> None:
    response = offline_app.test_client().get("/no/such/route")

    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"
    assert response.get_json()["error"]["message"]
    assert response.headers["X-Service"] == "webhooks"


def test_wrong_method_is_a_json_405_with_allow(offline_app: Flask) -> None:
    response = offline_app.test_client().get("/webhooks/stripe")

    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_a_json_413_at_the_shared_limit(
    make_app: AppFactory, dead_target: str
) -> None:
    app = make_app(CORE_GRPC_TARGET=dead_target)

    response = app.test_client().post("/webhooks/stripe", data=b"x" * (MAX_BODY_BYTES + 1))

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_unexpected_error_is_a_json_500_without_traceback(
    make_app: AppFactory, dead_target: str
) -> None:
    app = make_app(CORE_GRPC_TARGET=dead_target)

    def explode() -> str:
        raise ZeroDivisionError("secret internals")

    app.add_url_rule("/explode", view_func=explode)
    response = app.test_client().get("/explode")

    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"code": "internal_error", "message": "The server hit an unexpected error."}
    }
    assert response.headers["X-Service"] == "webhooks"
    assert b"Traceback" not in response.data


def test_settings_come_from_prefixed_environment(
    monkeypatch: pytest.MonkeyPatch, outbox_path: Path
) -> None:
    monkeypatch.setenv("STRANGLER_SERVICE_TOKEN", TOKEN)
    monkeypatch.setenv("WEBHOOKS_STRIPE_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("WEBHOOKS_CORE_GRPC_TARGET", "127.0.0.1:59999")
    monkeypatch.setenv("WEBHOOKS_STANDARD_SIGNING_SECRET", '["whsec_MDEyMzQ1Njc4OWFiY2RlZg=="]')
    monkeypatch.setenv("WEBHOOKS_OUTBOX_PATH", str(outbox_path))
    monkeypatch.setenv("WEBHOOKS_OUTBOX_RELAY", "false")
    monkeypatch.setenv("WEBHOOKS_OUTBOX_LEASE_SECONDS", "45")

    app = create_app()
    close_app(app)

    assert app.config["STRIPE_SIGNING_SECRET"] == SIGNING_SECRET
    assert app.config["CORE_GRPC_TARGET"] == "127.0.0.1:59999"
    assert app.config["STANDARD_SIGNING_SECRET"] == ["whsec_MDEyMzQ1Njc4OWFiY2RlZg=="]
    assert app.config["OUTBOX_LEASE_SECONDS"] == 45
    assert _relay(app).running is False


def test_outbox_file_is_created_at_start(make_app: AppFactory, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "outbox.sqlite3"

    make_app(OUTBOX_PATH=str(path))

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)


def test_relay_runs_unless_turned_off_and_stops_with_the_app(make_app: AppFactory) -> None:
    app = make_app(OUTBOX_RELAY=True)
    assert _relay(app).running is True

    close_app(app)

    assert _relay(app).running is False


def test_refuses_to_start_without_outbox_path() -> None:
    config = {"STRIPE_SIGNING_SECRET": SIGNING_SECRET, "SERVICE_TOKEN": TOKEN}

    with pytest.raises(ConfigError, match="WEBHOOKS_OUTBOX_PATH is not set"):
        create_app(config)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"OUTBOX_LEASE_SECONDS": 5}, "WEBHOOKS_OUTBOX_LEASE_SECONDS must exceed"),
        ({"OUTBOX_RETRY_CAP_SECONDS": 0.5}, "WEBHOOKS_OUTBOX_RETRY_CAP_SECONDS must be at least"),
        ({"OUTBOX_RELAY": "yes"}, "WEBHOOKS_OUTBOX_RELAY must be true or false"),
        ({"OUTBOX_POLL_SECONDS": 0}, "WEBHOOKS_OUTBOX_POLL_SECONDS"),
        ({"OUTBOX_RETRY_BASE_SECONDS": -1}, "WEBHOOKS_OUTBOX_RETRY_BASE_SECONDS"),
    ],
)
def test_refuses_to_start_with_bad_outbox_settings(
    make_app: AppFactory, overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        make_app(**overrides)


def _relay(app: Flask) -> Relay:
    relay = app.extensions[RELAY_EXTENSION_KEY]
    assert isinstance(relay, Relay)
    return relay


def test_refuses_to_start_without_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOKS_STRIPE_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("WEBHOOKS_STANDARD_SIGNING_SECRET", raising=False)

    with pytest.raises(ConfigError, match="no webhook source has a signing secret"):
        create_app({"SERVICE_TOKEN": TOKEN})


@pytest.mark.parametrize("secret", ["", "   ", 12345, [], [SIGNING_SECRET, ""]])
def test_refuses_to_start_with_blank_signing_secret(secret: object) -> None:
    with pytest.raises(ConfigError, match="WEBHOOKS_STRIPE_SIGNING_SECRET"):
        create_app({"SERVICE_TOKEN": TOKEN, "STRIPE_SIGNING_SECRET": secret})


@pytest.mark.parametrize("secret", ["not-whsec", "whsec_***", "whsec_c2hvcnQ="])
def test_refuses_a_standard_webhooks_secret_that_is_not_whsec_base64(
    make_app: AppFactory, secret: str
) -> None:
    with pytest.raises(ConfigError, match="WEBHOOKS_STANDARD_SIGNING_SECRET"):
        make_app(STANDARD_SIGNING_SECRET=secret)


def test_a_source_without_a_secret_is_not_served(make_app: AppFactory) -> None:
    response = (
        make_app(STANDARD_SIGNING_SECRET=None).test_client().post("/webhooks/standard", data=b"{}")
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_refuses_to_start_without_service_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRANGLER_SERVICE_TOKEN", raising=False)
    monkeypatch.delenv("STRANGLER_SERVICE_TOKEN_FILE", raising=False)

    with pytest.raises(InvalidSecretError, match="STRANGLER_SERVICE_TOKEN is not set"):
        create_app({"STRIPE_SIGNING_SECRET": SIGNING_SECRET})


def test_refuses_to_start_with_weak_service_token() -> None:
    with pytest.raises(InvalidSecretError, match="at least 32 characters"):
        create_app({"STRIPE_SIGNING_SECRET": SIGNING_SECRET, "SERVICE_TOKEN": "short"})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CORE_GRPC_TIMEOUT_SECONDS", "5"),
        ("CORE_GRPC_TIMEOUT_SECONDS", -1),
        ("CORE_GRPC_TARGET", ""),
    ],
)
def test_refuses_to_start_with_malformed_setting(key: str, value: object) -> None:
    config = {"STRIPE_SIGNING_SECRET": SIGNING_SECRET, "SERVICE_TOKEN": TOKEN, key: value}

    with pytest.raises(ConfigError, match=f"WEBHOOKS_{key}"):
        create_app(config)
