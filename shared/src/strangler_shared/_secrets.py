"""Loading secrets that have no working default."""

import os
from pathlib import Path

from strangler_shared.environment_variables import (
    STRANGLER_SERVICE_TOKEN,
    STRANGLER_SERVICE_TOKEN_FILE,
)

_MIN_TOKEN_LENGTH = 32
_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "token", "dev"})


class InvalidSecretError(RuntimeError):
    """A required secret is missing, too short or a placeholder; the process must not start."""


def load_service_token(environ: dict[str, str] | None = None) -> str:
    """Return the service token from the environment (or its file), refusing weak values."""
    env = os.environ if environ is None else environ
    token = env.get(STRANGLER_SERVICE_TOKEN, "").strip()
    if not token and env.get(STRANGLER_SERVICE_TOKEN_FILE):
        token = Path(env[STRANGLER_SERVICE_TOKEN_FILE]).read_text().strip()
    if not token:
        raise InvalidSecretError(
            f"{STRANGLER_SERVICE_TOKEN} is not set (run `make setup` to generate one)"
        )
    if len(token) < _MIN_TOKEN_LENGTH or token.lower() in _PLACEHOLDERS:
        raise InvalidSecretError(
            f"{STRANGLER_SERVICE_TOKEN} must be a random value of at least "
            f"{_MIN_TOKEN_LENGTH} characters"
        )
    return token
