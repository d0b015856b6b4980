"""Streaming over real sockets (uvicorn on a free port): SSE and WebSocket.

Timing is only ever compared with itself ("the first event came well before the last") or, for
the token-delay fault, bounded from below by the pauses asked for; never bounded from above.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind
from rag.streaming.tracing import SPAN_NAME
from strangler_testing import CapturedSpans, captured_spans
from websockets.sync.client import connect

QUESTION = {"question": "I forgot my password", "k": 2}
SSE = {"Accept": "text/event-stream"}


def read_sse(response: httpx.Response) -> Iterator[tuple[float, str, Any]]:
    """Yield (arrival time, event name or "ping", parsed data) for each SSE event."""
    name, data = "", ""
    for line in response.iter_lines():
        if line == ": ping":
            yield time.monotonic(), "ping", None
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and name:
            yield time.monotonic(), name, json.loads(data)
            name, data = "", ""


@contextmanager
def chat_stream(base_url: str) -> Iterator[Iterator[tuple[float, str, Any]]]:
    """Ask rag for a streamed answer; yield its events as they arrive."""
    with httpx.stream(
        "POST", f"{base_url}/api/chat", json=QUESTION, headers=SSE, timeout=30
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        yield read_sse(response)


def streamed(base_url: str) -> list[tuple[float, str, Any]]:
    """Return every event of a streamed answer."""
    with chat_stream(base_url) as events:
        return list(events)


def _names(events: list[tuple[float, str, Any]]) -> list[str]:
    return [name for _, name, _ in events]


def test_the_first_event_arrives_well_before_the_answer_is_complete(serve_rag: Any) -> None:
    settings = {"simulated_first_token_seconds": 0.3, "simulated_tokens_per_second": 20}
    with serve_rag(provider="simulated", **settings) as served:
        started = time.monotonic()
        events = streamed(served.base_url)
        total = time.monotonic() - started
    names = [name for name in _names(events) if name != "ping"]
    assert names[0] == "sources" and names[-1] == "done"
    assert set(names[1:-1]) == {"token"} and len(names) > 10
    first_event, first_token = events[0][0] - started, events[1][0] - started
    assert first_event < total / 4
    assert first_token < total / 2
    tokens = "".join(data["text"] for _, name, data in events if name == "token")
    assert tokens == events[-1][2]["answer"]


def test_heartbeats_keep_the_stream_alive_while_the_provider_thinks(serve_rag: Any) -> None:
    settings = {"simulated_first_token_seconds": 0.5, "heartbeat_seconds": 0.05}
    with serve_rag(provider="simulated", **settings) as served:
        names = _names(streamed(served.base_url))
    first_token = names.index("token")
    assert names[0] == "sources"
    assert "ping" in names[1:first_token]


def test_a_client_that_leaves_cancels_the_providers_request(
    serve_rag: Any, fake_openai: Any, poll: Any
) -> None:
    fake_openai.fake.behaviour = "hold"
    overrides = {"provider": "openai", "openai_base_url": fake_openai.base_url}
    with (
        captured_spans() as captured,
        serve_rag(tracer_provider=captured.provider, **overrides) as served,
    ):
        spans = captured.exporter
        with chat_stream(served.base_url) as events:
            assert next(events)[1] == "sources"
            assert next(events)[1] == "token"
        # Leaving the block closed the connection mid-stream: rag must drop its own request.
        assert fake_openai.fake.wait_client_gone(10)

        def stream_spans() -> list[Any]:
            return [s for s in spans.get_finished_spans() if s.name == SPAN_NAME]

        poll(lambda: stream_spans(), what="the stream's span to end")
    [stream] = stream_spans()
    assert dict(stream.attributes or {})["rag.stream.outcome"] == "cancelled"
    assert [event.name for event in stream.events] == ["first_token"]


def test_a_provider_error_ends_the_stream_with_an_error_event(
    serve_rag: Any, fake_openai: Any
) -> None:
    fake_openai.fake.behaviour = "error_chunk"
    with serve_rag(provider="openai", openai_base_url=fake_openai.base_url) as served:
        events = streamed(served.base_url)
        json_answer = httpx.post(f"{served.base_url}/api/chat", json=QUESTION, timeout=30)
    assert _names(events) == ["sources", "token", "error"]
    assert events[-1][2]["code"] == "provider_error"
    assert json_answer.status_code == 502
    assert json_answer.json()["error"]["code"] == "provider_error"


def test_a_provider_that_never_answers_is_a_timeout(serve_rag: Any, fake_openai: Any) -> None:
    fake_openai.fake.behaviour = "hold"
    overrides = {"openai_base_url": fake_openai.base_url, "provider_timeout_seconds": 0.3}
    with serve_rag(provider="openai", **overrides) as served:
        events = streamed(served.base_url)
        json_answer = httpx.post(f"{served.base_url}/api/chat", json=QUESTION, timeout=30)
    assert _names(events)[-1] == "error"
    assert events[-1][2]["code"] == "provider_timeout"
    assert (json_answer.status_code, json_answer.json()["error"]["code"]) == (
        504,
        "provider_timeout",
    )


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/api/chat/ws"


def _ws_answer(socket: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while not messages or messages[-1]["event"] not in {"done", "error"}:
        messages.append(json.loads(socket.recv(timeout=10)))
    return messages


def test_websocket_answers_each_question_with_the_same_events(serve_rag: Any) -> None:
    with serve_rag() as served, connect(_ws_url(served.base_url)) as socket:
        socket.send(json.dumps(QUESTION))
        first = _ws_answer(socket)
        socket.send(json.dumps({"question": "trial upgrade"}))
        second = _ws_answer(socket)
    for messages in (first, second):
        names = [message["event"] for message in messages]
        assert names[0] == "sources" and names[-1] == "done"
        assert set(names[1:-1]) == {"token"}
    assert first[0]["data"][0]["slug"] == "reset-password"
    assert first[-1]["data"]["answer"].endswith("[1]")


@pytest.mark.parametrize(
    ("message", "code", "field"),
    [
        ("{not json", "invalid_json", None),
        ("[1]", "invalid_json", None),
        (json.dumps({"question": ""}), "validation_error", "question"),
        (json.dumps({"question": "x", "k": 51}), "validation_error", "k"),
        (json.dumps({"question": "x", "mood": "happy"}), "validation_error", "mood"),
    ],
)
def test_websocket_answers_a_bad_message_with_an_error_and_stays_open(
    serve_rag: Any, message: str, code: str, field: str | None
) -> None:
    with serve_rag() as served, connect(_ws_url(served.base_url)) as socket:
        socket.send(message)
        error = json.loads(socket.recv(timeout=10))
        socket.send(json.dumps(QUESTION))
        answer = _ws_answer(socket)
    assert error["event"] == "error" and error["data"]["code"] == code
    if field:
        assert field in error["data"]["fields"]
    assert answer[-1]["event"] == "done"


def test_websocket_client_leaving_cancels_the_providers_request(
    serve_rag: Any, fake_openai: Any
) -> None:
    fake_openai.fake.behaviour = "hold"
    with serve_rag(provider="openai", openai_base_url=fake_openai.base_url) as served:
        with connect(_ws_url(served.base_url)) as socket:
            socket.send(json.dumps(QUESTION))
            assert json.loads(socket.recv(timeout=10))["event"] == "sources"
            assert json.loads(socket.recv(timeout=10))["event"] == "token"
        assert fake_openai.fake.wait_client_gone(10)


TOKEN_DELAY = 0.05


def _slow_down(base_url: str, token: str, seconds: float) -> None:
    body = {"token_delay_seconds": seconds}
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.put(f"{base_url}/internal/faults", json=body, headers=headers, timeout=10)
    assert response.json()["token_delay_seconds"] == seconds


def test_the_token_delay_spaces_out_an_sse_answer(serve_rag: Any, service_token: str) -> None:
    with serve_rag() as served:
        _slow_down(served.base_url, service_token, TOKEN_DELAY)
        asked = time.monotonic()
        events = [event for event in streamed(served.base_url) if event[1] != "ping"]
    names = _names(events)
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    tokens = [data["text"] for _, name, data in events if name == "token"]
    assert len(tokens) >= 2 and "".join(tokens) == events[-1][2]["answer"]
    # A lower bound only, from before the request: every token waited at least the delay.
    assert events[-1][0] - asked >= len(tokens) * TOKEN_DELAY


def test_the_token_delay_spaces_out_a_websocket_answer(serve_rag: Any, service_token: str) -> None:
    with serve_rag() as served, connect(_ws_url(served.base_url)) as socket:
        _slow_down(served.base_url, service_token, TOKEN_DELAY)
        asked = time.monotonic()
        socket.send(json.dumps(QUESTION))
        messages = _ws_answer(socket)
        answered = time.monotonic()
    names = [message["event"] for message in messages]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    tokens = [message["data"]["text"] for message in messages[1:-1]]
    assert len(tokens) >= 2 and "".join(tokens) == messages[-1]["data"]["answer"]
    assert answered - asked >= len(tokens) * TOKEN_DELAY


def test_a_websocket_chat_is_one_server_span_with_its_answer_streams_under_it(
    serve_rag: Any, captured: CapturedSpans, poll: Any
) -> None:
    with serve_rag(tracer_provider=captured.provider) as served:
        with connect(_ws_url(served.base_url)) as socket:
            socket.send(json.dumps(QUESTION))
            _ws_answer(socket)
        poll(lambda: len(captured.finished()) == 2, what="the connection's span to end")
    [server] = [span for span in captured.finished() if span.kind == SpanKind.SERVER]
    [stream] = captured.named(SPAN_NAME)
    assert server.name == "WS /api/chat/ws"
    attributes = dict(server.attributes or {})
    assert (attributes["http.route"], attributes["url.scheme"]) == ("/api/chat/ws", "ws")
    assert stream.parent is not None and stream.parent.span_id == server.context.span_id
