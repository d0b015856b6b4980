"""The project's own trace backend, so one request's trace is visible without Docker.

Every service exports OTLP/HTTP here; the receiver keeps spans in SQLite and the `traces` command
shows them in the terminal. The store is deliberately not traced itself: tracing its own writes
would export spans to itself, forever.
"""

from tracestore.models import SpanEvent, SpanLink, SpanRecord, SpanStatus, TraceSummary
from tracestore.store import TraceStore

__all__ = [
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
    "SpanStatus",
    "TraceStore",
    "TraceSummary",
]
