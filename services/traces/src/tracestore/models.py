"""Plain records for spans and trace summaries, shared by the receiver, the store and the viewers.

They hold JSON-able values only, so the HTTP API, the SQLite rows and the terminal views agree on
one shape without each knowing about OTLP protobuf messages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NANOS_PER_MS = 1_000_000

JSONValue = Any
Attributes = dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class SpanStatus:
    """The outcome of a span: UNSET, OK or ERROR, with an optional message."""

    code: str = "UNSET"
    message: str = ""


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped annotation inside a span (an exception, a cache miss, ...)."""

    name: str
    time_unix_nano: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanLink:
    """A reference from a span to a span of the same or another trace."""

    trace_id: str
    span_id: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One received span, with ids as lowercase hex and its resource attributes inlined."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service_name: str
    start_unix_nano: int
    end_unix_nano: int
    status: SpanStatus = field(default_factory=SpanStatus)
    attributes: Attributes = field(default_factory=dict)
    events: list[SpanEvent] = field(default_factory=list)
    links: list[SpanLink] = field(default_factory=list)
    resource_attributes: Attributes = field(default_factory=dict)
    scope_name: str = ""
    trace_state: str = ""

    @property
    def duration_ms(self) -> float:
        """Return the span's duration in milliseconds (never negative)."""
        return max(self.end_unix_nano - self.start_unix_nano, 0) / NANOS_PER_MS

    def to_json(self) -> dict[str, JSONValue]:
        """Return the span as the JSON object the HTTP API serves."""
        body = asdict(self)
        body["duration_ms"] = round(self.duration_ms, 3)
        return body


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One line of the recent-traces list: who started it, who took part, how long, did it fail."""

    trace_id: str
    root_name: str
    root_service: str
    services: frozenset[str]
    span_count: int
    start_unix_nano: int
    end_unix_nano: int
    error: bool
    route: str | None = None

    @property
    def duration_ms(self) -> float:
        """Return the time from the first span's start to the last span's end, in milliseconds."""
        return max(self.end_unix_nano - self.start_unix_nano, 0) / NANOS_PER_MS

    def to_json(self) -> dict[str, JSONValue]:
        """Return the summary as the JSON object the HTTP API serves."""
        return {
            "trace_id": self.trace_id,
            "root_name": self.root_name,
            "root_service": self.root_service,
            "services": sorted(self.services),
            "span_count": self.span_count,
            "start_unix_nano": self.start_unix_nano,
            "end_unix_nano": self.end_unix_nano,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            "route": self.route,
        }


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Which traces a listing keeps: all of the given conditions hold (None means any)."""

    service: str | None = None
    route: str | None = None
    error: bool | None = None
    min_duration_ms: float | None = None
    # The side the gateway sent the request to ("legacy" or "new").
    side: str | None = None
    # Leave out the gateway's own health checks and console traffic.
    hide_internal: bool = False
    # "recent" (newest first), "errors" (traces with an error first) or "slowest".
    order: str = "recent"


@dataclass(frozen=True, slots=True)
class LogPosition:
    """How far a followed log file has been read: the file's identity and a byte offset."""

    path: str
    inode: int
    offset: int


@dataclass(frozen=True, slots=True)
class SpanRef:
    """A pointer to a stored span, enough to name it and link to its trace."""

    trace_id: str
    span_id: str
    name: str
    service_name: str
