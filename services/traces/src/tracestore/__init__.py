"""The project's own trace backend, so one request's trace is visible without Docker.

Every service exports OTLP/HTTP here; the receiver keeps spans in SQLite, adds the gateway's own
span from its access log, and shows traces as a waterfall in the browser and a timeline in the
terminal. The store is deliberately not traced itself: tracing its own writes
would export spans to itself, forever.
"""

from tracestore.models import (
    SpanEvent,
    SpanLink,
    SpanRecord,
    SpanStatus,
    TraceFilter,
    TraceSummary,
)
from tracestore.store import TraceStore

__all__ = [
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
    "SpanStatus",
    "TraceFilter",
    "TraceStore",
    "TraceSummary",
]
