"""Each answer stream gets its own span: a child of the request's, with a first_token event."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode
from rag.streaming.tracing import SPAN_NAME
from strangler_testing import CapturedSpans

pytestmark = pytest.mark.anyio


async def _post(app: FastAPI, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as client:
        headers = {"Accept": "text/event-stream"}
        return await client.post("/api/chat", json=body, headers=headers)


async def test_a_streamed_answer_makes_no_span_per_message_sent_or_received(
    traced_app: FastAPI, captured: CapturedSpans
) -> None:
    response = await _post(traced_app, {"question": "reset my password", "k": 2})
    assert response.text.count("event: token") > 1
    assert sorted(span.name for span in captured.finished()) == ["POST /api/chat", SPAN_NAME]


async def test_the_stream_span_is_a_child_of_the_server_span_with_first_token(
    traced_app: FastAPI, captured: CapturedSpans
) -> None:
    response = await _post(traced_app, {"question": "reset my password", "k": 2})
    assert "event: done" in response.text
    spans = captured.finished()
    [stream] = [span for span in spans if span.name == SPAN_NAME]
    [server] = [span for span in spans if span.kind == SpanKind.SERVER]
    assert stream.parent is not None and stream.parent.span_id == server.context.span_id
    assert [event.name for event in stream.events] == ["first_token"]
    attributes = dict(stream.attributes or {})
    assert attributes["rag.stream.outcome"] == "done"
    assert attributes["rag.transport"] == "sse" and attributes["rag.provider"] == "extractive"
    assert attributes["rag.stream.tokens"] == response.text.count("event: token")


async def test_a_failed_stream_marks_its_span_as_an_error(
    traced_app: FastAPI, captured: CapturedSpans
) -> None:
    class Broken:
        name = "broken"

        async def stream_answer(self, question: str, passages: Any) -> AsyncIterator[str]:
            raise RuntimeError("no model")
            yield ""

    traced_app.state.provider = Broken()
    response = await _post(traced_app, {"question": "reset my password"})
    assert "event: error" in response.text
    [stream] = captured.named(SPAN_NAME)
    assert stream.status.status_code is StatusCode.ERROR
    assert dict(stream.attributes or {})["rag.stream.outcome"] == "error"
    assert stream.events == ()
