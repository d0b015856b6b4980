"""The adapter's settings: each one documented here, read once at start, checked before serving.

``create_app`` loads :data:`DEFAULTS`, then ``from_prefixed_env("WEBHOOKS")`` (which maps
``WEBHOOKS_<NAME>`` to the config key ``<NAME>`` and parses values as JSON when it can, so ``300``
becomes an int), then the test config. :func:`load_settings` refuses to start on anything missing
or malformed, so a misconfigured adapter never answers a delivery.

``WEBHOOKS_CORE_GRPC_TARGET``
    core's gRPC address (``host:port``). Default ``127.0.0.1:50051``.
``WEBHOOKS_CORE_GRPC_TIMEOUT_SECONDS``
    Deadline of one ``ApplyEvent`` call to core. Default 5.
``WEBHOOKS_<SOURCE>_SIGNING_SECRET``: ``WEBHOOKS_STRIPE_SIGNING_SECRET``, ``WEBHOOKS_STANDARD_...``
    The signing secret of one webhook source (a verifier in ``webhooks.verifiers.VERIFIERS``), or
    a JSON list of secrets while a rotation is under way: a delivery signed with any of them
    verifies, and removing the old one ends the rotation. Stripe's are ``whsec_...``; Standard
    Webhooks' are ``whsec_`` and base64. A source without a secret is not served (404); at least
    one source must have one. There is no default.

The body size limit, the timestamp tolerance and the event rules are not settings: they are the
intake rules shared with core's legacy view (``strangler_shared.webhook_intake``), so both paths
answer alike.
``WEBHOOKS_OUTBOX_PATH``
    The SQLite file of the outbox, where each accepted event is stored before the sender gets its
    2xx. Required; there is no default. Every worker of one adapter shares it, so it must be on a
    local disk of the one host they run on (SQLite's WAL mode needs shared memory).
``WEBHOOKS_OUTBOX_RELAY``
    Whether this process runs the relay thread that delivers stored events to core. Default
    ``true``; tests turn it off to drive deliveries themselves.
``WEBHOOKS_OUTBOX_POLL_SECONDS``
    The longest an idle relay waits before looking for due events it was not woken for: events
    another worker stored, retries, leases that ran out. Default 1.
``WEBHOOKS_OUTBOX_LEASE_SECONDS``
    How long a claimed event stays reserved for the relay that claimed it; after that (the relay
    crashed) another relay may claim it again. Must exceed the gRPC deadline. Default 30.
``WEBHOOKS_OUTBOX_RETRY_BASE_SECONDS`` / ``WEBHOOKS_OUTBOX_RETRY_CAP_SECONDS``
    The wait before the first retry of a failed delivery, and the longest wait: each retry doubles
    it up to the cap, with jitter. Defaults 1 and 300.
    The same doubling spaces the probes of the relays' shared circuit while core is down.
``WEBHOOKS_OUTBOX_MAX_AGE_SECONDS``
    How long after its intake an event may still be retried; the first failure past it makes
    the event a dead letter with its last error. Default 259200 (three days).
``WEBHOOKS_OUTBOX_RETENTION_SECONDS``
    How long a delivered event stays in the outbox, so a late re-delivery is still recognised
    and answered ``duplicate`` without a second delivery. Longer than the senders' retries
    (Stripe retries for up to three days). Default 604800 (seven days).
``STRANGLER_SERVICE_TOKEN`` / ``STRANGLER_SERVICE_TOKEN_FILE``
    The token every call to core carries (see ``strangler_shared.environment_variables``). Tests
    may pass it as ``SERVICE_TOKEN`` in the test config instead.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strangler_shared import load_service_token
from strangler_shared.environment_variables import STRANGLER_SERVICE_TOKEN
from strangler_shared.webhook_intake import MAX_BODY_BYTES

DEFAULTS: Mapping[str, Any] = {
    "CORE_GRPC_TARGET": "127.0.0.1:50051",
    "CORE_GRPC_TIMEOUT_SECONDS": 5.0,
    # Flask's own key, from the shared rule: Flask refuses a larger body before reading it.
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
    "OUTBOX_RELAY": True,
    "OUTBOX_POLL_SECONDS": 1.0,
    "OUTBOX_LEASE_SECONDS": 30.0,
    "OUTBOX_RETRY_BASE_SECONDS": 1.0,
    "OUTBOX_RETRY_CAP_SECONDS": 300.0,
    "OUTBOX_MAX_AGE_SECONDS": 3 * 24 * 3600.0,
    "OUTBOX_RETENTION_SECONDS": 7 * 24 * 3600.0,
}

ENV_PREFIX = "WEBHOOKS"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the adapter must not start."""


@dataclass(frozen=True)
class OutboxSettings:
    """Where accepted events are stored, and how the relay delivers them."""

    path: Path
    relay: bool
    poll_seconds: float
    lease_seconds: float
    retry_base_seconds: float
    retry_cap_seconds: float
    max_age_seconds: float = 3 * 24 * 3600.0
    retention_seconds: float = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Settings:
    """The checked settings the adapter runs with."""

    core_grpc_target: str
    core_grpc_timeout_seconds: float
    signing_secrets: Mapping[str, tuple[str, ...]] = field(repr=False)
    service_token: str = field(repr=False)
    outbox: OutboxSettings


def load_settings(config: Mapping[str, Any], sources: Iterable[str]) -> Settings:
    """Check the merged Flask config and return the settings, or raise ConfigError."""
    settings = Settings(
        core_grpc_target=_text(config, "CORE_GRPC_TARGET"),
        core_grpc_timeout_seconds=_positive_number(config, "CORE_GRPC_TIMEOUT_SECONDS"),
        signing_secrets=_signing_secrets(config, sources),
        service_token=_service_token(config),
        outbox=load_outbox_settings(config),
    )
    if settings.outbox.lease_seconds <= settings.core_grpc_timeout_seconds:
        # A lease shorter than the call would let a second relay deliver the event meanwhile.
        raise ConfigError(
            f"{_env_name('OUTBOX_LEASE_SECONDS')} must exceed "
            f"{_env_name('CORE_GRPC_TIMEOUT_SECONDS')}"
        )
    return settings


def load_outbox_settings(config: Mapping[str, Any]) -> OutboxSettings:
    """Check the outbox's part of the config (all the ``outbox`` command needs)."""
    settings = OutboxSettings(
        path=Path(_text(config, "OUTBOX_PATH")),
        relay=_flag(config, "OUTBOX_RELAY"),
        poll_seconds=_positive_number(config, "OUTBOX_POLL_SECONDS"),
        lease_seconds=_positive_number(config, "OUTBOX_LEASE_SECONDS"),
        retry_base_seconds=_positive_number(config, "OUTBOX_RETRY_BASE_SECONDS"),
        retry_cap_seconds=_positive_number(config, "OUTBOX_RETRY_CAP_SECONDS"),
        max_age_seconds=_positive_number(config, "OUTBOX_MAX_AGE_SECONDS"),
        retention_seconds=_positive_number(config, "OUTBOX_RETENTION_SECONDS"),
    )
    if settings.retry_cap_seconds < settings.retry_base_seconds:
        raise ConfigError(
            f"{_env_name('OUTBOX_RETRY_CAP_SECONDS')} must be at least "
            f"{_env_name('OUTBOX_RETRY_BASE_SECONDS')}"
        )
    return settings


def _env_name(key: str) -> str:
    return f"{ENV_PREFIX}_{key}"


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None:
        raise ConfigError(f"{_env_name(key)} is not set")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_env_name(key)} must be a non-empty string, got {value!r}")
    return value


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key)
    if not isinstance(value, bool):
        raise ConfigError(f"{_env_name(key)} must be true or false, got {value!r}")
    return value


def _signing_secrets(
    config: Mapping[str, Any], sources: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    keys = {source: f"{source.upper()}_SIGNING_SECRET" for source in sources}
    found = {
        source: _secrets(config, key) for source, key in keys.items() if config.get(key) is not None
    }
    if not found:
        names = " or ".join(_env_name(key) for key in keys.values())
        raise ConfigError(f"no webhook source has a signing secret: set {names}")
    return found


def _secrets(config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key)
    values = value if isinstance(value, list) else [value]
    secrets = tuple(v.strip() for v in values if isinstance(v, str) and v.strip())
    # The value itself is never echoed: error messages end up in logs.
    if not secrets or len(secrets) != len(values):
        raise ConfigError(f"{_env_name(key)} must be a secret or a JSON list of secrets")
    return secrets


def _positive_number(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{_env_name(key)} must be a positive number, got {value!r}")
    return float(value)


def _service_token(config: Mapping[str, Any]) -> str:
    given = config.get("SERVICE_TOKEN")
    if given is None:
        return load_service_token()
    if not isinstance(given, str):
        raise ConfigError("SERVICE_TOKEN must be a string")
    # The same strength rules as the environment variable, whatever the token's origin.
    return load_service_token({STRANGLER_SERVICE_TOKEN: given})
