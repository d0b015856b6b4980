"""The shadow comparator's vocabulary: outcomes, diffs and one recorded comparison.

The comparison rules themselves are the route table's ``Compare`` (``compare = "json"|"search"|
"chat"`` on a route).

Kept apart from the code that produces and stores comparisons, so the report (read by the
``strangler`` CLI) does not pull in the HTTP client or the web server.
"""

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from strangler_gateway.errors import GatewayError
from strangler_gateway.routetable import Compare

__all__ = ["Comparison", "Outcome", "PathDiff", "ShadowError"]

# How much of a value a stored diff keeps: enough to recognise it, never a whole response.
MAX_VALUE_CHARS = 200


class ShadowError(GatewayError):
    """The shadow comparator cannot do what was asked (no database, bad option); says why."""


class Outcome(StrEnum):
    """What one comparison found."""

    MATCH = "match"
    DIFF = "diff"
    TIMEOUT = "timeout"
    ERROR = "error"


class Missing:
    """The value at a path that one side's document does not have."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = Missing()


@dataclass(frozen=True)
class PathDiff:
    """One JSON path whose value differs between legacy and new."""

    path: str
    legacy: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        """Return the diff as stored: a side without the path has no key, values are truncated."""
        entry: dict[str, Any] = {"path": self.path}
        for side in ("legacy", "new"):
            value = getattr(self, side)
            if value is not MISSING:
                entry[side] = _truncate(value)
        return entry

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> "PathDiff":
        """Return the diff from its stored form."""
        return cls(
            path=str(entry.get("path", "")),
            legacy=entry.get("legacy", MISSING),
            new=entry.get("new", MISSING),
        )


def _truncate(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "…"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


@dataclass(frozen=True)
class Comparison:
    """One finished comparison, as recorded in the shadow database."""

    time: float
    route: str
    method: str
    uri: str
    request_id: str
    trace_id: str
    outcome: Outcome
    rule: Compare
    overlap: float | None = None
    legacy_ms: float | None = None
    new_ms: float | None = None
    legacy_status: int | None = None
    new_status: int | None = None
    detail: str = ""
    diffs: tuple[PathDiff, ...] = ()
    noise: tuple[str, ...] = ()
    shadow_trace_id: str = ""
