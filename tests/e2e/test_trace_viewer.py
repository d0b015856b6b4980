"""The gateway serves the waterfall at /traces/, and it shows real traces of the running stack.

A request crosses gateway -> core -> rag -> core; headless Chromium (Debian's package) then loads
its trace page through the gateway, and the DOM and a screenshot must show a bar for every span in
its service's color, under the routing decision. A shadowed request's comparison runs in a trace
of its own whose span links to the user's, and the user's trace page points back to it.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_testing.tracestore import (
    WINDOW,
    Edge,
    Observed,
    Span,
    TraceReader,
    bands,
    chromium_or_skip,
    dump_dom,
    read_png,
    screenshot,
)
from tracestore.palette import rgb, service_color

pytestmark = pytest.mark.stack

CHAIN: set[Edge] = {("gateway", "core", "http"), ("core", "rag", "http"), ("rag", "core", "grpc")}


def _reader(stack: Stack) -> TraceReader:
    return TraceReader(f"http://127.0.0.1:{stack.config.ports.traces}")


def _wait(stack: Stack, poll: Callable[..., Any], trace_id: str, *expected: Edge) -> Observed:
    """Poll the store until the trace holds the expected edges."""
    reader = _reader(stack)
    found: Observed = poll(lambda: Observed(reader.spans(trace_id), set(expected)), seconds=20)
    return found


def test_gateway_serves_the_waterfall_of_a_real_trace(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any], tmp_path: Path
) -> None:
    chromium = chromium_or_skip()
    response = gateway.get("/api/customers/1/suggestions", params={"k": 3})
    assert response.status_code == 200, response.text
    trace_id = response.headers["x-request-id"]
    trace = _wait(stack, poll, trace_id, *CHAIN)
    url = f"http://127.0.0.1:{stack.config.ports.gateway}/traces/trace/{trace_id}"
    picture = tmp_path / "waterfall.png"

    dom = dump_dom(chromium, url)
    screenshot(chromium, url, picture)

    for span in trace.spans:
        assert f'id="span-{span["span_id"]}"' in dom, span["name"]
    assert dom.count('class="bar"') == len(trace.spans)
    assert '<dd data-key="route">catch-all</dd>' in dom
    width, height, rows = read_png(picture.read_bytes())
    assert (width, height) == WINDOW
    drawn = {service: bands(rows, rgb(service_color(service))) for service in trace.services()}
    assert all(drawn.values()), f"services without a bar: {drawn}"
    # The gateway's span is the whole trace: its bar spans (nearly) the whole track.
    assert max(run for _, _, run in drawn["gateway"]) > WINDOW[0] // 2


def test_list_page_behind_the_gateway_finds_the_trace_by_route_and_service(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    response = gateway.get("/api/customers/1/suggestions", params={"k": 3})
    trace_id = response.headers["x-request-id"]
    _wait(stack, poll, trace_id, *CHAIN)

    listed = gateway.get("/traces/", params={"route": "catch-all", "service": "rag", "limit": 500})
    elsewhere = gateway.get("/traces/", params={"route": "search", "limit": 500})

    assert listed.status_code == 200
    assert f"trace/{trace_id}" in listed.text
    assert f"trace/{trace_id}" not in elsewhere.text
    reader = _reader(stack)
    paths = {
        span["attributes"]["url.path"]
        for summary in reader.recent(service="gateway", limit=20)
        for span in reader.spans(summary["trace_id"])
        if span["service_name"] == "gateway"
    }
    assert "/api/customers/1/suggestions" in paths
    assert not [path for path in paths if path.startswith("/traces")], "viewing makes no traces"


@pytest.fixture
def shadowed_search(set_route: Callable[..., None]) -> Iterator[None]:
    """Mirror every search to the comparator for one test, then put the route back to legacy."""
    set_route("search", "shadow", 100)
    yield
    set_route("search", "legacy")


def _comparison_linking(stack: Stack, user_trace: str) -> list[Span]:
    """Return the comparator's spans that link to the user's trace."""
    reader = _reader(stack)
    return [
        span
        for summary in reader.recent(service="shadow", route="search", limit=50)
        for span in reader.spans(summary["trace_id"])
        if any(link["trace_id"] == user_trace for link in span["links"])
    ]


def test_shadow_comparison_is_a_trace_linked_to_the_users(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any], shadowed_search: None
) -> None:
    response = gateway.get("/api/search", params={"q": "refund", "k": 3})
    assert response.status_code == 200, response.text
    user_trace = response.headers["x-request-id"]

    (comparison,) = poll(lambda: _comparison_linking(stack, user_trace), seconds=30)
    user = _wait(stack, poll, user_trace, ("gateway", "core", "http"))

    assert comparison["service_name"] == "shadow"
    assert comparison["trace_id"] != user_trace and comparison["parent_span_id"] is None
    (link,) = comparison["links"]
    assert link["span_id"] == user.gateway()["span_id"], "it links to the gateway's span"
    assert comparison["attributes"]["migration.route"] == "search"
    assert "shadow" not in user.services(), "the comparison adds nothing to the user's trace"
    page = gateway.get(f"/traces/trace/{user_trace}")
    assert "Linked from" in page.text and comparison["trace_id"] in page.text
