"""Each request to rag is one SERVER span, made by FastAPI's own OpenTelemetry support.

The span is what the trace viewer, the migration filters and a trace backend read: the route, the
stable HTTP conventions, the caller's trace and the gateway's ``migration.*`` decision, and an
unexpected error with its exception; a WebSocket connection is one span, its answers' streams
under it. Readiness probes make none.
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode
from rag.deps import get_index
from rag.main import create_app
from rag.streaming.tracing import SPAN_NAME
from strangler_shared import MigrationBaggageSpanProcessor
from strangler_testing import CapturedSpans, captured_spans
from websockets.sync.client import connect

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
DEPRECATED = {"http.method", "http.url", "http.target", "http.status_code", "http.scheme"}


@pytest.fixture
def captured() -> Iterator[CapturedSpans]:
    with captured_spans("rag", processors=[MigrationBaggageSpanProcessor()]) as spans:
        yield spans


@pytest.fixture
async def traced(core: Any, settings_for: Any, captured: CapturedSpans) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(core.target), tracer_provider=captured.provider)
    async with application.router.lifespan_context(application):
        with anyio.fail_after(10):
            await application.state.sync.wait_ready()
        yield application


async def _get(app: FastAPI, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as client:
        return await client.get(path, **kwargs)


async def test_a_search_is_one_server_span_named_by_its_route_in_the_stable_conventions(
    traced: FastAPI, captured: CapturedSpans
) -> None:
    response = await _get(traced, "/api/search", params={"q": "refund", "k": 2})
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
    traced: FastAPI, captured: CapturedSpans
) -> None:
    headers = {
        "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01",
        "baggage": "migration.route=search,migration.target=new,migration.bucket=7",
    }
    assert (await _get(traced, "/api/search", params={"q": "refund"}, headers=headers)).is_success
    [span] = captured.finished()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == CALLER_SPAN_ID
    attributes = dict(span.attributes or {})
    assert attributes["migration.route"] == "search"
    assert (attributes["migration.target"], attributes["migration.bucket"]) == ("new", 7)


async def test_readiness_probes_make_no_span(traced: FastAPI, captured: CapturedSpans) -> None:
    assert (await _get(traced, "/healthz")).status_code == 200
    assert (await _get(traced, "/api/search", params={"q": "x"})).status_code == 200
    assert [span.name for span in captured.finished()] == ["GET /api/search"]


async def test_an_unexpected_error_fails_the_span_and_keeps_its_exception(
    traced: FastAPI, captured: CapturedSpans
) -> None:
    def explode() -> None:
        raise RuntimeError("index gone")

    traced.dependency_overrides[get_index] = explode
    response = await _get(traced, "/api/search", params={"q": "refund"})
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


def test_a_websocket_chat_is_one_server_span_with_its_answer_streams_under_it(
    serve_rag: Any, captured: CapturedSpans, poll: Any
) -> None:
    with serve_rag(tracer_provider=captured.provider) as served:
        with connect(served.base_url.replace("http://", "ws://") + "/api/chat/ws") as socket:
            socket.send(json.dumps({"question": "reset my password"}))
            while json.loads(socket.recv(timeout=10))["event"] not in {"done", "error"}:
                pass
        poll(lambda: len(captured.finished()) == 2, what="the connection's span to end")
    [server] = [span for span in captured.finished() if span.kind == SpanKind.SERVER]
    [stream] = captured.named(SPAN_NAME)
    assert server.name == "WS /api/chat/ws"
    attributes = dict(server.attributes or {})
    assert (attributes["http.route"], attributes["url.scheme"]) == ("/api/chat/ws", "ws")
    assert stream.parent is not None and stream.parent.span_id == server.context.span_id
