"""Each answer stream gets its own span: a child of the request's, with a first_token event."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from rag.main import create_app
from rag.streaming.tracing import SPAN_NAME
from strangler_testing import captured_spans

pytestmark = pytest.mark.anyio


@pytest.fixture
def exporter() -> Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    with captured_spans() as spans:
        yield spans.exporter, spans.provider


@pytest.fixture
async def traced_app(
    core: Any, settings_for: Any, exporter: tuple[InMemorySpanExporter, TracerProvider]
) -> AsyncIterator[FastAPI]:
    _, provider = exporter
    application = create_app(settings_for(core.target), tracer_provider=provider)
    async with application.router.lifespan_context(application):
        with anyio.fail_after(10):
            await application.state.sync.wait_ready()
        yield application


async def _post(app: FastAPI, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as client:
        headers = {"Accept": "text/event-stream"}
        return await client.post("/api/chat", json=body, headers=headers)


def _spans(exporter: tuple[InMemorySpanExporter, TracerProvider]) -> list[ReadableSpan]:
    return list(exporter[0].get_finished_spans())


async def test_a_streamed_answer_makes_no_span_per_message_sent_or_received(
    traced_app: FastAPI, exporter: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    response = await _post(traced_app, {"question": "reset my password", "k": 2})
    assert response.text.count("event: token") > 1
    assert sorted(span.name for span in _spans(exporter)) == ["POST /api/chat", SPAN_NAME]


async def test_the_stream_span_is_a_child_of_the_server_span_with_first_token(
    traced_app: FastAPI, exporter: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    response = await _post(traced_app, {"question": "reset my password", "k": 2})
    assert "event: done" in response.text
    spans = _spans(exporter)
    [stream] = [span for span in spans if span.name == SPAN_NAME]
    [server] = [span for span in spans if span.kind == SpanKind.SERVER]
    assert stream.parent is not None and stream.parent.span_id == server.context.span_id
    assert [event.name for event in stream.events] == ["first_token"]
    attributes = dict(stream.attributes or {})
    assert attributes["rag.stream.outcome"] == "done"
    assert attributes["rag.transport"] == "sse" and attributes["rag.provider"] == "extractive"
    assert attributes["rag.stream.tokens"] == response.text.count("event: token")


async def test_a_failed_stream_marks_its_span_as_an_error(
    traced_app: FastAPI, exporter: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    class Broken:
        name = "broken"

        async def stream_answer(self, question: str, passages: Any) -> AsyncIterator[str]:
            raise RuntimeError("no model")
            yield ""

    traced_app.state.provider = Broken()
    response = await _post(traced_app, {"question": "reset my password"})
    assert "event: error" in response.text
    [stream] = [span for span in _spans(exporter) if span.name == SPAN_NAME]
    assert stream.status.status_code is StatusCode.ERROR
    assert dict(stream.attributes or {})["rag.stream.outcome"] == "error"
    assert stream.events == ()
