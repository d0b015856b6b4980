"""A streamed answer is one trace whose stream span lasts as long as the stream.

The stack's rag answers in milliseconds, too fast to tell a span that covers the stream from one
that ends when the handler returns. So this module starts its own rag beside the stack, with the
simulated provider (a first-token delay, then a steady token rate), exporting to the stack's trace
store and syncing from the stack's core. Then, for SSE and WebSocket alike: the client's trace is
continued, the stream span hangs under rag's server span, its ``first_token`` event comes after
the provider's delay, and it ends no earlier than the last token the client saw.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_testing import picked_port
from strangler_testing.tracestore import TraceReader
from websockets.sync.client import connect

pytestmark = pytest.mark.stack

Span = dict[str, Any]
STREAM_SPAN = "rag.answer.stream"
FIRST_TOKEN_SECONDS = 0.4
TOKENS_PER_SECOND = 40.0
QUESTION = {"question": "How do I get a refund for a duplicate charge?", "k": 2}


@dataclass(frozen=True)
class Received:
    """What the client saw of one stream, in wall-clock nanoseconds."""

    first_token_ns: int
    done_ns: int
    tokens: int


def _free_port() -> int:
    # The process takes a port number, not a socket: the best is a port the kernel just picked.
    return picked_port()


def _rag_env(stack: Stack, grpc_port: int) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "RAG_", "STRANGLER_"))
    }
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "STRANGLER_SERVICE_TOKEN": stack.secrets.service_token,
        "STRANGLER_IDENTITY_SECRET": stack.secrets.identity_secret,
        "OTEL_SERVICE_NAME": "rag",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{stack.config.ports.traces}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_PYTHON_EXCLUDED_URLS": "healthz",
        "RAG_CORE_GRPC_TARGET": f"127.0.0.1:{stack.config.ports.core_grpc}",
        "RAG_GRPC_BIND": f"127.0.0.1:{grpc_port}",
        "RAG_PROVIDER": "simulated",
        "RAG_SIMULATED_FIRST_TOKEN_SECONDS": str(FIRST_TOKEN_SECONDS),
        "RAG_SIMULATED_TOKENS_PER_SECOND": str(TOKENS_PER_SECOND),
    }


def _wait_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:]
    raise AssertionError(f"rag was not ready at {url} (exit {process.poll()}):\n{tail}")


@pytest.fixture(scope="module")
def slow_rag(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a rag whose answers stream slowly; yield its base URL, stop it after."""
    port = _free_port()
    log = tmp_path_factory.mktemp("slow-rag") / "rag.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "rag", "--host", "127.0.0.1", "--port", str(port)],
            env=_rag_env(stack, _free_port()),
            cwd=stack.config.root,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{base}/healthz", process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _trace(stack: Stack, trace_id: str) -> list[Span]:
    return TraceReader(f"http://127.0.0.1:{stack.config.ports.traces}").spans(trace_id)


def _stream_span(stack: Stack, trace_id: str) -> Callable[[], list[Span] | None]:
    """Return a check that yields the trace once rag's stream span and server span are in."""

    def check() -> list[Span] | None:
        spans = _trace(stack, trace_id)
        names = {(span["service_name"], span["name"]) for span in spans}
        servers = [s for s in spans if s["kind"] == "SERVER" and s["service_name"] == "rag"]
        return spans if ("rag", STREAM_SPAN) in names and servers else None

    return check


def _ancestors(span: Span, spans: list[Span]) -> list[Span]:
    by_id = {s["span_id"]: s for s in spans}
    chain = []
    while span.get("parent_span_id") in by_id:
        span = by_id[span["parent_span_id"]]
        chain.append(span)
    return chain


def _sse_stream(base: str, traceparent: str) -> Received:
    first = done = 0
    tokens = 0
    headers = {"Accept": "text/event-stream", "traceparent": traceparent}
    with httpx.stream(
        "POST", f"{base}/api/chat", json=QUESTION, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line == "event: token":
                tokens += 1
                first = first or time.time_ns()
            elif line == "event: done":
                done = time.time_ns()
            elif line == "event: error":
                raise AssertionError("the stream ended with an error event")
    return Received(first, done, tokens)


def _websocket_stream(base: str, traceparent: str) -> Received:
    first = done = 0
    tokens = 0
    url = base.replace("http://", "ws://") + "/api/chat/ws"
    with connect(url, additional_headers={"traceparent": traceparent}, open_timeout=10) as ws:
        ws.send(json.dumps(QUESTION))
        while not done:
            message = json.loads(ws.recv(timeout=30))
            if message["event"] == "token":
                tokens += 1
                first = first or time.time_ns()
            elif message["event"] == "done":
                done = time.time_ns()
            elif message["event"] == "error":
                raise AssertionError(f"the stream ended with an error: {message}")
    return Received(first, done, tokens)


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_stream_is_one_trace_whose_stream_span_covers_the_stream(
    stack: Stack, slow_rag: str, poll: Callable[..., Any], transport: str
) -> None:
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{client_span}-01"
    stream = _sse_stream if transport == "sse" else _websocket_stream

    received = stream(slow_rag, traceparent)

    assert received.tokens >= 5, "the answer is long enough to measure"
    spans = poll(_stream_span(stack, trace_id), seconds=20)
    assert {span["trace_id"] for span in spans} == {trace_id}
    (stream_span,) = [s for s in spans if s["name"] == STREAM_SPAN]
    chain = _ancestors(stream_span, spans)
    assert chain and chain[-1]["kind"] == "SERVER" and chain[-1]["service_name"] == "rag"
    assert chain[-1]["parent_span_id"] == client_span, "the client's trace is continued"

    (first_token,) = [e for e in stream_span["events"] if e["name"] == "first_token"]
    start, end = stream_span["start_unix_nano"], stream_span["end_unix_nano"]
    assert start <= first_token["time_unix_nano"] <= end
    # The event marks the first token, not the start: the provider waited before it.
    assert first_token["time_unix_nano"] - start >= 0.8 * FIRST_TOKEN_SECONDS * 1e9
    # The span lasts through every token: from its first token to its end at least as long as
    # the client waited between the first token and `done` (less loopback jitter).
    client_stream_ns = received.done_ns - received.first_token_ns
    assert client_stream_ns >= 0.8 * (received.tokens - 1) / TOKENS_PER_SECOND * 1e9
    assert end - first_token["time_unix_nano"] >= client_stream_ns - 50_000_000
