"""Fixtures: a route table for the comparator, JSON upstream doubles and a way to post mirrors."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from strangler_gateway.shadow.config import ComparatorSettings
from strangler_testing import captured_spans, route, route_table
from strangler_testing.gateway import Reply, fetch

# A route table for the comparator's tests.
TABLE = route_table(
    ["monolith", "service"],
    [route("search", "/api/search", legacy="monolith", new="service", mode="legacy")],
)

USER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
USER_SPAN_ID = "00f067aa0ba902b7"
USER_TRACEPARENT = f"00-{USER_TRACE_ID}-{USER_SPAN_ID}-01"

PostMirror = Callable[..., Reply]


@pytest.fixture
def table_path(tmp_path: Path) -> Path:
    """Write the test route table and return its path."""
    path = tmp_path / "routes.toml"
    path.write_text(TABLE)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> ComparatorSettings:
    """Return comparator settings recording into a fresh database."""
    return ComparatorSettings(db=tmp_path / "shadow.sqlite3", budget_seconds=2.0, workers=2)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """Return an in-memory exporter that the ``tracer_provider`` fixture exports to."""
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """Return a tracer provider of the test's own (the global one is left alone)."""
    with captured_spans() as captured:
        captured.provider.add_span_processor(SimpleSpanProcessor(spans))
        yield captured.provider


def post_mirror(
    url: str,
    uri: str = "/api/search?q=card&k=3",
    *,
    route: str = "search",
    method: str = "GET",
    extra: dict[str, str] | None = None,
) -> Reply:
    """Post to /compare what nginx's mirror subrequest sends for a request of ``route``."""
    headers = {
        "X-Shadow-Route": route,
        "X-Shadow-Uri": uri,
        "X-Shadow-Method": method,
        "X-Request-Id": "a" * 32,
        "traceparent": USER_TRACEPARENT,
        "baggage": "user.tier=gold,migration.route=search,migration.target=legacy",
        **(extra or {}),
    }
    # nginx mirrors with the user's method; the body is never mirrored.
    return fetch(url, "/compare", method=method, headers=headers)


@pytest.fixture
def mirror() -> PostMirror:
    """Return a function posting a mirror subrequest to a comparator's URL."""
    return post_mirror
