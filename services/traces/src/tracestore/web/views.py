"""What the web pages show, as plain values: the templates only lay these out.

Positions, colors and labels are computed here, in Python, so the waterfall is complete in the HTML
the server sends (no script has to run before the bars appear) and so they are easy to test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tracestore.models import (
    Attributes,
    JSONValue,
    SpanLink,
    SpanRecord,
    SpanRef,
    TraceSummary,
)
from tracestore.palette import service_color
from tracestore.timeline import RoutingDecision, Timeline, TimelineRow, build_timeline
from tracestore.tree import ORPHAN_NOTE

TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def format_ms(ms: float) -> str:
    """Format a duration for people: µs below a millisecond, seconds above ten thousand ms."""
    if ms == 0:
        return "0 ms"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


def format_time(unix_nano: int) -> str:
    """Format an instant as local date and time with milliseconds."""
    moment = datetime.fromtimestamp(unix_nano / 1e9).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_value(value: JSONValue) -> str:
    """Show a string as it is and any other attribute value as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def percent(fraction: float) -> str:
    """Format a 0..1 fraction as a CSS percentage."""
    return f"{fraction * 100:.3f}%"


@dataclass(frozen=True, slots=True)
class ServiceChip:
    """A service name with its color, for legends and lists."""

    name: str
    color: str


@dataclass(frozen=True, slots=True)
class TraceListRow:
    """One line of the list page."""

    summary: TraceSummary
    started: str
    duration: str
    duration_share: str
    services: list[ServiceChip]
    root_color: str


@dataclass(frozen=True, slots=True)
class EventView:
    """An event of a span: where it falls on the track and what it says."""

    name: str
    left: str
    offset: str
    attributes: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class LinkView:
    """A span link, with the relative address of the linked span's trace page."""

    trace_id: str
    span_id: str
    href: str
    attributes: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RowView:
    """One span of the waterfall: its label, its bar and its details."""

    span: SpanRecord
    depth: int
    color: str
    left: str
    width: str
    duration: str
    offset: str
    end: str
    note: str
    attributes: list[tuple[str, str]]
    resource: list[tuple[str, str]]
    events: list[EventView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TracePage:
    """Everything the trace page shows."""

    timeline: Timeline
    decision: RoutingDecision | None
    rows: list[RowView]
    legend: list[ServiceChip]
    ticks: list[tuple[str, str]]
    started: str
    duration: str
    linked_from: list[SpanRef]


def trace_list_rows(summaries: Sequence[TraceSummary]) -> list[TraceListRow]:
    """Build the list page's rows; duration bars are relative to the longest trace shown."""
    longest = max((summary.duration_ms for summary in summaries), default=0.0)
    return [
        TraceListRow(
            summary=summary,
            started=format_time(summary.start_unix_nano),
            duration=format_ms(summary.duration_ms),
            duration_share=percent(summary.duration_ms / longest if longest else 0.0),
            services=[ServiceChip(name, service_color(name)) for name in sorted(summary.services)],
            root_color=service_color(summary.root_service),
        )
        for summary in summaries
    ]


def trace_page(
    trace_id: str,
    spans: Sequence[SpanRecord],
    decision: RoutingDecision | None,
    linked_from: Sequence[SpanRef] = (),
) -> TracePage:
    """Lay a trace out as the waterfall page."""
    timeline = build_timeline(trace_id, spans)
    ticks = [(percent(tick), format_ms(timeline.duration_ms * tick)) for tick in TICKS]
    return TracePage(
        timeline=timeline,
        decision=decision,
        rows=[_row_view(row, timeline) for row in timeline.rows],
        legend=[ServiceChip(name, service_color(name)) for name in timeline.services],
        ticks=ticks,
        started=format_time(timeline.start_unix_nano),
        duration=format_ms(timeline.duration_ms),
        linked_from=list(linked_from),
    )


def _row_view(row: TimelineRow, timeline: Timeline) -> RowView:
    span = row.span
    return RowView(
        span=span,
        depth=row.depth,
        color=service_color(span.service_name),
        left=percent(row.left),
        width=percent(row.width),
        duration=format_ms(span.duration_ms),
        offset=format_ms(row.offset_ms),
        end=percent(min(row.left + row.width, 1.0)),
        note=ORPHAN_NOTE if row.orphan else "",
        attributes=_pairs(span.attributes),
        resource=_pairs(span.resource_attributes),
        events=[_event_view(span, index, timeline) for index in range(len(span.events))],
        links=[_link_view(link) for link in span.links],
    )


def _event_view(span: SpanRecord, index: int, timeline: Timeline) -> EventView:
    event = span.events[index]
    offset_ms = max(event.time_unix_nano - span.start_unix_nano, 0) / 1e6
    return EventView(
        name=event.name,
        left=percent(timeline.fraction(event.time_unix_nano)),
        offset=f"+{format_ms(offset_ms)}",
        attributes=_pairs(event.attributes),
    )


def _link_view(link: SpanLink) -> LinkView:
    href = _trace_href(link.trace_id, link.span_id)
    return LinkView(link.trace_id, link.span_id, href, _pairs(link.attributes))


def _trace_href(trace_id: str, span_id: str) -> str:
    """Address a span on its trace page, relative to a trace page (they share one folder)."""
    return f"{trace_id}#span-{span_id}"


def _pairs(attributes: Attributes) -> list[tuple[str, str]]:
    return [(key, format_value(attributes[key])) for key in sorted(attributes)]
