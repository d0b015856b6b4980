"""The adapter's settings: each one documented here, read once at start, checked before serving.

``create_app`` loads :data:`DEFAULTS`, then ``from_prefixed_env("WEBHOOKS")`` (which maps
``WEBHOOKS_<NAME>`` to the config key ``<NAME>`` and parses values as JSON when it can, so ``300``
becomes an int), then the test config. :func:`load_settings` refuses to start on anything missing
or malformed, so a misconfigured adapter never answers a delivery.

``WEBHOOKS_CORE_GRPC_TARGET``
    core's gRPC address (``host:port``). Default ``127.0.0.1:50051``.
``WEBHOOKS_CORE_GRPC_TIMEOUT_SECONDS``
    Deadline of one ``ApplyEvent`` call to core. Default 5.
``WEBHOOKS_STRIPE_SIGNING_SECRET``
    The endpoint's Stripe signing secret (``whsec_...``). Required; there is no default.
``WEBHOOKS_STRIPE_TOLERANCE_SECONDS``
    How old a signature's timestamp may be before the delivery counts as stale. Default 300.
``WEBHOOKS_MAX_CONTENT_LENGTH``
    Largest accepted request body in bytes (Flask's own key). Default 1 MiB.
``STRANGLER_SERVICE_TOKEN`` / ``STRANGLER_SERVICE_TOKEN_FILE``
    The token every call to core carries (see ``strangler_shared.environment_variables``). Tests
    may pass it as ``SERVICE_TOKEN`` in the test config instead.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strangler_shared import load_service_token
from strangler_shared.environment_variables import STRANGLER_SERVICE_TOKEN

DEFAULTS: Mapping[str, Any] = {
    "CORE_GRPC_TARGET": "127.0.0.1:50051",
    "CORE_GRPC_TIMEOUT_SECONDS": 5.0,
    "STRIPE_TOLERANCE_SECONDS": 300,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
}

ENV_PREFIX = "WEBHOOKS"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the adapter must not start."""


@dataclass(frozen=True)
class Settings:
    """The checked settings the adapter runs with."""

    core_grpc_target: str
    core_grpc_timeout_seconds: float
    stripe_signing_secret: str = field(repr=False)
    stripe_tolerance_seconds: int
    service_token: str = field(repr=False)


def load_settings(config: Mapping[str, Any]) -> Settings:
    """Check the merged Flask config and return the settings, or raise ConfigError."""
    return Settings(
        core_grpc_target=_text(config, "CORE_GRPC_TARGET"),
        core_grpc_timeout_seconds=_positive_number(config, "CORE_GRPC_TIMEOUT_SECONDS"),
        stripe_signing_secret=_secret(config, "STRIPE_SIGNING_SECRET"),
        stripe_tolerance_seconds=_positive_int(config, "STRIPE_TOLERANCE_SECONDS"),
        service_token=_service_token(config),
    )


def _env_name(key: str) -> str:
    return f"{ENV_PREFIX}_{key}"


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_env_name(key)} must be a non-empty string, got {value!r}")
    return value


def _secret(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    # The value itself is never echoed: error messages end up in logs.
    if value is None:
        raise ConfigError(f"{_env_name(key)} is not set; the adapter refuses unsigned intake")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_env_name(key)} must be a non-empty string")
    return value


def _positive_number(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{_env_name(key)} must be a positive number, got {value!r}")
    return float(value)


def _positive_int(config: Mapping[str, Any], key: str) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{_env_name(key)} must be a positive integer, got {value!r}")
    return value


def _service_token(config: Mapping[str, Any]) -> str:
    given = config.get("SERVICE_TOKEN")
    if given is None:
        return load_service_token()
    if not isinstance(given, str):
        raise ConfigError("SERVICE_TOKEN must be a string")
    # The same strength rules as the environment variable, whatever the token's origin.
    return load_service_token({STRANGLER_SERVICE_TOKEN: given})
