"""Typed readers for the environment variables the settings modules consume.

Only the settings modules call these; application code reads ``django.conf.settings``.
"""

import math
import os
from collections.abc import Collection

from django.core.exceptions import ImproperlyConfigured
from strangler_shared import InvalidSecretError
from strangler_shared.identity import load_identity_secret

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or ``default`` when it is unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean, refusing values that are not clearly one."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_float(name: str, default: float, *, allow_zero: bool = False) -> float:
    """Return the variable as a positive number (or zero, when ``allow_zero``)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        least = "zero or more" if allow_zero else "greater than zero"
        raise ImproperlyConfigured(f"{name} must be {least}, not {raw!r}")
    return value


def env_choice(name: str, default: str, choices: Collection[str]) -> str:
    """Return the variable's value, refusing anything but one of ``choices``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, not {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def identity_secret_from_env() -> bytes:
    """Return the identity key, or empty bytes when it is missing or weak (nothing gets signed)."""
    try:
        return load_identity_secret()
    except InvalidSecretError:
        return b""
