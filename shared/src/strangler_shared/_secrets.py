"""Loading secrets that have no working default."""

import os
from collections.abc import Mapping
from pathlib import Path

from strangler_shared.environment_variables import (
    STRANGLER_IDENTITY_SECRET,
    STRANGLER_IDENTITY_SECRET_FILE,
    STRANGLER_SERVICE_TOKEN,
    STRANGLER_SERVICE_TOKEN_FILE,
)

_MIN_TOKEN_LENGTH = 32
_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "token", "dev"})


class InvalidSecretError(RuntimeError):
    """A required secret is missing, too short or a placeholder; the process must not start."""


def load_service_token(environ: Mapping[str, str] | None = None) -> str:
    """Return the service token from the environment (or its file), refusing weak values."""
    return _load_secret(STRANGLER_SERVICE_TOKEN, STRANGLER_SERVICE_TOKEN_FILE, environ)


def load_identity_secret(environ: Mapping[str, str] | None = None) -> bytes:
    """Return the key that signs identities (environment or its file), refusing weak values."""
    return _load_secret(STRANGLER_IDENTITY_SECRET, STRANGLER_IDENTITY_SECRET_FILE, environ).encode()


def is_strong_secret(value: str | bytes) -> bool:
    """Tell whether ``value`` is long enough and not a well-known placeholder."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    return len(text) >= _MIN_TOKEN_LENGTH and text.lower() not in _PLACEHOLDERS


def _load_secret(name: str, file_name: str, environ: Mapping[str, str] | None) -> str:
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    if not value and env.get(file_name):
        value = Path(env[file_name]).read_text().strip()
    if not value:
        raise InvalidSecretError(f"{name} is not set (run `make setup` to generate one)")
    if not is_strong_secret(value):
        raise InvalidSecretError(
            f"{name} must be a random value of at least {_MIN_TOKEN_LENGTH} characters"
        )
    return value
