"""Read and change the fault flags, and apply the noise to an answer."""

import math
import re
import threading
import time
import uuid
from typing import Any

from core.faults.models import FaultFlags

# How long a worker trusts the flags it read before reading the row again.
CACHE_SECONDS = 1.0
# The same names rag accepts for its injected field: a JSON key a client could write by hand.
FIELD_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_SINGLETON = 1
_lock = threading.Lock()
# (when the value expires on the monotonic clock, the noise field)
_cached: tuple[float, str] | None = None


def noise_field() -> str:
    """Return the noise field in force ("" when none), read at most once a second."""
    global _cached
    now = time.monotonic()
    with _lock:
        if _cached is not None and now < _cached[0]:
            return _cached[1]
    row = FaultFlags.objects.filter(pk=_SINGLETON).values_list("noise_field", flat=True).first()
    field = row or ""
    with _lock:
        _cached = (now + CACHE_SECONDS, field)
    return field


def read_flags() -> dict[str, Any]:
    """Return the flags in force, as ``/internal/faults`` shows them."""
    return {"noise_field": noise_field()}


def replace_flags(noise: str) -> dict[str, Any]:
    """Store new flags (this worker sees them at once, the others within CACHE_SECONDS)."""
    global _cached
    FaultFlags.objects.update_or_create(pk=_SINGLETON, defaults={"noise_field": noise})
    with _lock:
        _cached = (time.monotonic() + CACHE_SECONDS, noise)
    return {"noise_field": noise}


def forget_cached_flags() -> None:
    """Make the next request read the flags from the database."""
    global _cached
    with _lock:
        _cached = None


def assume_no_faults() -> None:
    """Answer "no faults" without reading the database, until forget_cached_flags (for tests
    of views that need no database)."""
    global _cached
    with _lock:
        _cached = (math.inf, "")


def with_noise(answer: dict[str, Any], field: str) -> dict[str, Any]:
    """Return ``answer`` with ``field`` set to a value no other answer has."""
    return {**answer, field: uuid.uuid4().hex}
