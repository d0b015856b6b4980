"""Query parameters of the trace listings, read the same way by the JSON API and the web pages.

`/api/traces?route=search&status=error` and the list page's filter form mean the same thing, so
they share one reader and one set of validation messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tracestore.models import TraceFilter

DEFAULT_LIMIT = 20
MAX_LIMIT = 500
STATUSES = {"ok": False, "error": True}
SIDES = ("legacy", "new")
ORDERS = ("recent", "errors", "slowest")
INTERNAL = {"show": False, "hide": True}


class ValidationError(ValueError):
    """A query or path parameter is out of its documented range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def limit_param(raw: str | None) -> int:
    """Read `limit`: an integer in 1..MAX_LIMIT, DEFAULT_LIMIT when absent."""
    if raw is None or not raw.strip():
        return DEFAULT_LIMIT
    message = f"limit must be an integer in 1..{MAX_LIMIT}"
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError("limit", message) from None
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError("limit", message)
    return value


def trace_filter(params: Mapping[str, str], *, internal: str = "show") -> TraceFilter:
    """Read the listing filters: service, route, side, status, min_ms, internal and sort.

    ``internal`` is what happens to the gateway's own traffic when the query does not say (the
    JSON API shows it; the list page hides it).
    """
    status = _choice(params, "status", tuple(STATUSES), "")
    return TraceFilter(
        service=(params.get("service") or "").strip() or None,
        route=(params.get("route") or "").strip() or None,
        error=STATUSES[status] if status else None,
        min_duration_ms=_min_ms(params.get("min_ms")),
        side=_choice(params, "side", SIDES, "") or None,
        hide_internal=INTERNAL[_choice(params, "internal", tuple(INTERNAL), internal)],
        order=_choice(params, "sort", ORDERS, "recent"),
    )


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (params.get(name) or "").strip().lower() or default
    if value and value not in allowed:
        words = " or ".join(allowed) if len(allowed) == 2 else f"one of: {', '.join(allowed)}"
        raise ValidationError(name, f"{name} must be {words}")
    return value


def _min_ms(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    message = "min_ms must be a number of milliseconds, 0 or more"
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError("min_ms", message) from None
    if not math.isfinite(value) or value < 0:
        raise ValidationError("min_ms", message)
    return value
