"""``python -m rag`` as the local runner starts it: ready after the sync, clean exit on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_channel


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OTEL_"))}
    env.update(OTEL_TRACES_EXPORTER="none", STRANGLER_LOG_FORMAT="json", **extra)
    return env


@pytest.fixture
def rag_process(
    core: Any, service_token: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Any, int, int]]:
    from socket import socket

    with socket() as http_sock, socket() as grpc_sock:
        http_sock.bind(("127.0.0.1", 0))
        grpc_sock.bind(("127.0.0.1", 0))
        http_port, grpc_port = http_sock.getsockname()[1], grpc_sock.getsockname()[1]
    env = _env(
        STRANGLER_SERVICE_TOKEN=service_token,
        RAG_CORE_GRPC_TARGET=core.target,
        RAG_GRPC_BIND=f"127.0.0.1:{grpc_port}",
        RAG_SYNC_INTERVAL_SECONDS="0.1",
        **getattr(request, "param", {}),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "--host", "127.0.0.1", "--port", str(http_port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, http_port, grpc_port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:  # a test that failed early never read it to the end
            process.stderr.close()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_serves_http_and_grpc_then_stops_on_sigterm(
    rag_process: tuple[Any, int, int], service_token: str, poll: Any
) -> None:
    process, http_port, grpc_port = rag_process
    poll(lambda: _ready(http_port), timeout=150, what="rag /healthz")
    response = httpx.get(f"http://127.0.0.1:{http_port}/api/search", params={"q": "invoice"})
    assert response.headers["X-Service"] == "rag"
    with open_channel(f"127.0.0.1:{grpc_port}", service_token) as channel:
        reply = rag_pb2_grpc.RagServiceStub(channel).Search(rag_pb2.SearchRequest(query="trial"))
    assert reply.results[0].article_id == 3

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(r["service"] == "rag" and "ready" in r["message"] for r in records)
    # The gateway's access log and the request's span record each request already.
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    with (
        grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
        pytest.raises(grpc.FutureTimeoutError),
    ):
        grpc.channel_ready_future(channel).result(timeout=0.5)


@pytest.mark.parametrize("rag_process", [{"RAG_WORKERS": "2"}], indirect=True)
def test_two_workers_each_sync_and_serve_then_stop_on_sigterm(
    rag_process: tuple[Any, int, int], poll: Any
) -> None:
    process, http_port, _ = rag_process
    poll(lambda: _ready(http_port), timeout=150, what="rag /healthz")
    for _ in range(4):
        response = httpx.get(f"http://127.0.0.1:{http_port}/api/search", params={"q": "invoice"})
        assert response.status_code == 200

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    ready = [r for r in records if r["message"].startswith("knowledge base ready")]
    assert len(ready) == 2
    assert not [r for r in records if r["level"] == "error"]


def test_refuses_to_start_without_a_service_token() -> None:
    env = _env()
    env.pop("STRANGLER_SERVICE_TOKEN", None)
    env.pop("STRANGLER_SERVICE_TOKEN_FILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "rag", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "rag cannot start" in result.stderr
    assert "STRANGLER_SERVICE_TOKEN" in result.stderr
