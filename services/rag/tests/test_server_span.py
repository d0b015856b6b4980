"""Each request to rag is one SERVER span, made by FastAPI's own OpenTelemetry support.

The span is what the trace viewer, the migration filters and a trace backend read: the route, the
stable HTTP conventions, the caller's trace and the gateway's ``migration.*`` decision, and an
unexpected error with its exception. Readiness probes make none. (A WebSocket connection's span:
``test_streaming``.)
"""

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode
from rag.deps import get_index
from strangler_testing import CapturedSpans

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
DEPRECATED = {"http.method", "http.url", "http.target", "http.status_code", "http.scheme"}


async def test_a_search_is_one_server_span_named_by_its_route_in_the_stable_conventions(
    traced_client: httpx.AsyncClient, captured: CapturedSpans
) -> None:
    response = await traced_client.get("/api/search", params={"q": "refund", "k": 2})
    assert response.status_code == 200
    [span] = captured.finished()
    assert (span.name, span.kind) == ("GET /api/search", SpanKind.SERVER)
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/api/search"
    assert attributes["url.path"] == "/api/search"
    assert attributes["url.query"] == "q=refund&k=2"
    assert attributes["http.response.status_code"] == 200
    assert not DEPRECATED & set(attributes)
    assert span.status.status_code is StatusCode.UNSET


async def test_the_span_continues_the_callers_trace_with_the_gateways_decision(
    traced_client: httpx.AsyncClient, captured: CapturedSpans
) -> None:
    headers = {
        "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01",
        "baggage": "migration.route=search,migration.target=new,migration.bucket=7",
    }
    response = await traced_client.get("/api/search", params={"q": "refund"}, headers=headers)
    assert response.is_success
    [span] = captured.finished()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == CALLER_SPAN_ID
    attributes = dict(span.attributes or {})
    assert attributes["migration.route"] == "search"
    assert (attributes["migration.target"], attributes["migration.bucket"]) == ("new", 7)


async def test_readiness_probes_make_no_span(
    traced_client: httpx.AsyncClient, captured: CapturedSpans
) -> None:
    assert (await traced_client.get("/healthz")).status_code == 200
    assert (await traced_client.get("/api/search", params={"q": "x"})).status_code == 200
    assert [span.name for span in captured.finished()] == ["GET /api/search"]


async def test_an_unexpected_error_fails_the_span_and_keeps_its_exception(
    traced_app: FastAPI, traced_client: httpx.AsyncClient, captured: CapturedSpans
) -> None:
    def explode() -> None:
        raise RuntimeError("index gone")

    traced_app.dependency_overrides[get_index] = explode
    response = await traced_client.get("/api/search", params={"q": "refund"})
    assert response.status_code == 500 and "index gone" not in response.text
    [span] = captured.finished()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "RuntimeError"
    [event] = [event for event in span.events if event.name == "exception"]
    attributes = dict(event.attributes or {})
    assert (attributes["exception.type"], attributes["exception.message"]) == (
        "RuntimeError",
        "index gone",
    )
    assert "explode" in str(attributes["exception.stacktrace"])
