"""Where the monolith delegates, core calls rag's RagService over gRPC, inside one trace.

Related articles (GET /api/articles/{id or slug}/related, through the gateway) ask rag's
Search; the legacy chat with CORE_CHAT_PROVIDER=rag relays rag's Answer stream. Each test
asserts the directed core -> rag gRPC edge in the real trace, polling the trace store until
every process has exported its spans.

The stack's core runs the default chat provider, and restarting it with another would change
the stack under every other test of the session. So the chat test starts a second core HTTP
server beside the stack, from the stack's own process description (same database, same rag,
same trace store), with only the provider changed, and talks to it directly.
"""

import json
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_testing import picked_port

pytestmark = pytest.mark.stack

Span = dict[str, Any]
ARTICLE = "why-was-my-card-declined"
QUESTION = {"question": "Why was my card declined?", "k": 2}
STREAM_SPAN = "rag.answer.stream"


def _kind(span: Span) -> str:
    return str(span["kind"]).lower().removeprefix("span_kind_")


def _spans(stack: Stack, trace_id: str) -> list[Span]:
    url = f"http://127.0.0.1:{stack.config.ports.traces}/api/traces/{trace_id}"
    response = httpx.get(url, timeout=5)
    return list(response.json()["spans"]) if response.status_code == 200 else []


def _grpc(spans: list[Span], service: str, kind: str, method: str) -> list[Span]:
    return [
        s
        for s in spans
        if s["service_name"] == service
        and _kind(s) == kind
        and s["attributes"].get("rpc.method") == method
    ]


def _one(found: list[Span], description: str) -> Span:
    assert len(found) == 1, f"expected one {description}, found {len(found)}: {found}"
    return found[0]


def _ancestors(spans: list[Span], span: Span) -> list[str]:
    by_id = {s["span_id"]: s for s in spans}
    chain = []
    while span["parent_span_id"] in by_id:
        span = by_id[span["parent_span_id"]]
        chain.append(span["span_id"])
    return chain


def _traceparent() -> tuple[str, str, dict[str, str]]:
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, client_span, {"traceparent": f"00-{trace_id}-{client_span}-01"}


def _arrived(spans: list[Span], method: str) -> bool:
    """Whether core and rag have both exported their part (each on its own schedule)."""
    core_http = any(s["service_name"] == "core" and _kind(s) == "server" for s in spans)
    core_call = _grpc(spans, "core", "client", method)
    return core_http and bool(core_call) and bool(_grpc(spans, "rag", "server", method))


def _assert_core_calls_rag(spans: list[Span], method: str) -> tuple[Span, Span]:
    """Assert core's request span -> core's gRPC client span -> rag's gRPC server span."""
    core_http = _one(
        [s for s in spans if s["service_name"] == "core" and _kind(s) == "server"],
        "core HTTP server span",
    )
    core_call = _one(_grpc(spans, "core", "client", method), f"core's {method} call")
    rag_server = _one(_grpc(spans, "rag", "server", method), f"rag's {method} server span")
    assert core_http["span_id"] in _ancestors(spans, core_call)
    assert rag_server["parent_span_id"] == core_call["span_id"], "rag continues core's call"
    assert core_call["attributes"].get("rpc.service") == "strangler.rag.v1.RagService"
    return core_http, rag_server


def test_related_articles_go_from_the_gateway_through_core_to_rag_over_grpc(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    trace_id, client_span, headers = _traceparent()

    response = gateway.get(f"/api/articles/{ARTICLE}/related", params={"k": 3}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["x-service"] == "core"
    body = response.json()
    assert body["article"]["slug"] == ARTICLE and body["k"] == 3
    slugs = [result["slug"] for result in body["results"]]
    assert 1 <= len(slugs) <= 3 and ARTICLE not in slugs
    assert "updating-payment-method" in slugs, "rag's BM25 ranks the card articles together"

    def complete() -> list[Span]:
        spans = _spans(stack, trace_id)
        has_gateway = any(s["service_name"] == "gateway" for s in spans)
        return spans if has_gateway and _arrived(spans, "Search") else []

    spans = poll(complete, seconds=20)
    assert {span["trace_id"] for span in spans} == {trace_id}
    gateway_span = _one(
        [s for s in spans if s["service_name"] == "gateway"], "gateway span (from its access log)"
    )
    assert gateway_span["parent_span_id"] == client_span
    core_http, _ = _assert_core_calls_rag(spans, "Search")
    assert core_http["parent_span_id"] == gateway_span["span_id"]


def _free_port() -> int:
    # The process takes a port number, not a socket: the best is a port the kernel just picked.
    return picked_port()


@pytest.fixture
def delegating_core(
    stack: Stack, tmp_path: Path, poll: Callable[..., Any]
) -> Iterator[httpx.Client]:
    """A second core HTTP server, as the stack runs core, with CORE_CHAT_PROVIDER=rag."""
    [spec] = [spec for spec in stack.specs() if spec.name == "core-http"]
    port = _free_port()
    argv = list(spec.argv)
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {**spec.env, "CORE_CHAT_PROVIDER": "rag", "GUNICORN_WORKERS": "1"}
    log = tmp_path / "core-delegating.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def ready() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            poll(ready, seconds=60, every=0.2)
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=stack.config.stop_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _sse(text: str) -> list[tuple[str, Any]]:
    frames = [frame.split("\n") for frame in text.split("\n\n") if frame]
    return [
        (name.removeprefix("event: "), json.loads(data[len("data: ") :])) for name, data in frames
    ]


def test_the_legacy_chat_relays_rags_answer_stream_over_grpc(
    stack: Stack, delegating_core: httpx.Client, poll: Callable[..., Any]
) -> None:
    rag_http = f"http://127.0.0.1:{stack.config.ports.rag_http}"
    expected = httpx.post(f"{rag_http}/api/chat", json=QUESTION, timeout=10).json()
    trace_id, _, headers = _traceparent()

    response = delegating_core.post(
        "/api/chat", json=QUESTION, headers={**headers, "Accept": "text/event-stream"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["x-service"] == "core"
    events = _sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    assert events[0][1] == expected["sources"], "the sources are rag's, relayed"
    assert events[-1][1] == {"answer": expected["answer"]}, "the answer is rag's, relayed"

    def complete() -> list[Span]:
        spans = _spans(stack, trace_id)
        has_stream = any(s["name"] == STREAM_SPAN for s in spans)
        return spans if has_stream and _arrived(spans, "Answer") else []

    spans = poll(complete, seconds=20)
    _, rag_server = _assert_core_calls_rag(spans, "Answer")
    stream = _one([s for s in spans if s["name"] == STREAM_SPAN], "rag's stream span")
    assert stream["parent_span_id"] == rag_server["span_id"]
    assert stream["attributes"].get("rag.stream.outcome") == "done"
