"""Lay one trace out on a time axis, and find the gateway's routing decision in it.

The browser waterfall and the terminal timeline draw the same picture: one row per span in tree
order, indented by depth, with a bar that starts at the span's offset from the trace's start and is
as long as the span. Computing the rows once here keeps the two views in agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracestore.models import NANOS_PER_MS, JSONValue, SpanRecord
from tracestore.tree import build_tree, walk

GATEWAY_SERVICE = "gateway"


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One span placed on the axis: left and width are fractions (0..1) of the trace's duration."""

    depth: int
    span: SpanRecord
    orphan: bool
    offset_ms: float
    left: float
    width: float


@dataclass(frozen=True, slots=True)
class Timeline:
    """A trace laid out for display: its rows in tree order and the extent of the axis."""

    trace_id: str
    start_unix_nano: int
    end_unix_nano: int
    rows: tuple[TimelineRow, ...]

    @property
    def duration_ms(self) -> float:
        """Return the time from the first span's start to the last span's end, in milliseconds."""
        return (self.end_unix_nano - self.start_unix_nano) / NANOS_PER_MS

    @property
    def services(self) -> list[str]:
        """Return the services of the trace in order of first appearance."""
        return list(dict.fromkeys(row.span.service_name for row in self.rows))

    @property
    def error_count(self) -> int:
        """Return how many spans ended with an ERROR status."""
        return sum(1 for row in self.rows if row.span.status.code == "ERROR")

    def fraction(self, unix_nano: int) -> float:
        """Return where an instant falls on the axis, clamped to 0..1."""
        span = self.end_unix_nano - self.start_unix_nano
        if span <= 0:
            return 0.0
        return min(max((unix_nano - self.start_unix_nano) / span, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """What the gateway decided for the request, and which span said so."""

    route: str
    mode: str
    target: str
    bucket: JSONValue
    fallback: JSONValue
    service: str
    span_id: str


def build_timeline(trace_id: str, spans: Sequence[SpanRecord]) -> Timeline:
    """Return the rows of a trace in tree order, each placed on the trace's time axis."""
    start = min((span.start_unix_nano for span in spans), default=0)
    end = max((span.end_unix_nano for span in spans), default=0)
    end = max(end, start)
    total = end - start
    rows = []
    for depth, node in walk(build_tree(spans)):
        span = node.span
        offset = span.start_unix_nano - start
        length = max(span.end_unix_nano - span.start_unix_nano, 0)
        rows.append(
            TimelineRow(
                depth=depth,
                span=span,
                orphan=node.orphan,
                offset_ms=offset / NANOS_PER_MS,
                left=offset / total if total else 0.0,
                width=length / total if total else 1.0,
            )
        )
    return Timeline(trace_id, start, end, tuple(rows))


def routing_decision(spans: Sequence[SpanRecord]) -> RoutingDecision | None:
    """Return the decision from the gateway's span, else from the earliest span carrying one."""
    carriers = sorted(
        (span for span in spans if "migration.route" in span.attributes),
        key=lambda span: (span.service_name != GATEWAY_SERVICE, span.start_unix_nano),
    )
    if not carriers:
        return None
    span = carriers[0]
    attributes = span.attributes
    return RoutingDecision(
        route=str(attributes.get("migration.route", "")),
        mode=str(attributes.get("migration.mode", "")),
        target=str(attributes.get("migration.target", "")),
        bucket=attributes.get("migration.bucket"),
        fallback=attributes.get("migration.fallback"),
        service=span.service_name,
        span_id=span.span_id,
    )
