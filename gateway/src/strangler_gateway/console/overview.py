"""What the console's overview shows: every route with its split and its live figures per side.

Built from the route table (what is configured) and the recent access log (what happened), with
the sample-ratio check of ``strangler stats``, so the page and the command never disagree.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from strangler_gateway.console.series import Series, decided_side, is_error, side_series
from strangler_gateway.routetable import GrpcRoute, Mode, Route, RouteTable
from strangler_gateway.traffic.stats import RouteStats, recorded_trace, route_stats

__all__ = ["Overview", "RouteView", "TraceLink", "build_overview"]

# How many example traces a route's figures link to, per side.
EXAMPLE_TRACES = 3


@dataclass(frozen=True)
class TraceLink:
    """One request worth opening in the waterfall, and why it was picked."""

    trace_id: str
    why: str
    side: str
    status: int
    ms: float


@dataclass(frozen=True)
class RouteView:
    """One route as configured and as observed."""

    route: Route
    stats: RouteStats
    series: dict[str, Series]
    traces: tuple[TraceLink, ...]

    @property
    def split(self) -> str:
        """Return the split in words ("25 % of users to new")."""
        route = self.route
        if route.mode is Mode.SHADOW:
            return f"{route.percent} % of reads mirrored"
        return f"{route.new_percent} % to new"


@dataclass(frozen=True)
class Overview:
    """Every route and gRPC route, with the time the figures were taken."""

    taken: datetime
    window_seconds: float
    routes: tuple[RouteView, ...]
    grpc: tuple[GrpcRoute, ...]
    catch_all: str
    # The share of the traces the gateway starts that are sampled: below 100, not every request
    # has a trace to open.
    trace_sample_percent: float

    def route(self, name: str) -> RouteView | None:
        """Return the view of route ``name``, or None."""
        return next((view for view in self.routes if view.route.name == name), None)


def build_overview(
    table: RouteTable,
    entries: list[dict[str, Any]],
    *,
    window_seconds: float,
    buckets: int,
    now: datetime | None = None,
) -> Overview:
    """Return the overview of ``table`` from the access-log ``entries`` of the recent past."""
    now = now or datetime.now(UTC)
    views = tuple(
        RouteView(
            route=route,
            stats=route_stats(entries, route, window_seconds=window_seconds, now=now),
            series=side_series(
                entries,
                route.name,
                buckets=buckets,
                bucket_seconds=window_seconds / buckets,
                now=now,
            ),
            traces=example_traces(entries, route.name),
        )
        for route in table.routes
    )
    return Overview(
        now,
        window_seconds,
        views,
        table.grpc,
        table.gateway.catch_all,
        table.gateway.trace_sample_percent,
    )


def example_traces(entries: list[dict[str, Any]], route: str) -> tuple[TraceLink, ...]:
    """Return a few recorded traces per side worth a look: the latest errors, then the slowest."""
    links: list[TraceLink] = []
    for side in ("legacy", "new"):
        mine = [
            e
            for e in entries
            if e.get("route") == route and decided_side(e) == side and recorded_trace(e)
        ]
        errors = [e for e in reversed(mine) if is_error(e)][:EXAMPLE_TRACES]
        slowest = sorted(mine, key=_ms, reverse=True)[: EXAMPLE_TRACES - len(errors)]
        links += [_link(e, "error", side) for e in errors]
        links += [_link(e, "slowest", side) for e in slowest if e not in errors]
    return tuple(links)


def _ms(entry: dict[str, Any]) -> float:
    return float(entry.get("request_time") or 0.0) * 1000


def _link(entry: dict[str, Any], why: str, side: str) -> TraceLink:
    status = int(entry.get("status") or 0)
    return TraceLink(recorded_trace(entry), why, side, status, _ms(entry))
