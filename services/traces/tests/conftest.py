"""Fixtures for the trace store tests: a real receiver process on a free port, and span records.

The receiver runs exactly as the local stack runs it (`python -m tracestore serve`), so the tests
exercise uvicorn, the HTTP stack and SQLite across processes, not an in-process shortcut.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tracestore.models import SpanRecord, SpanStatus

STARTUP_DEADLINE_SECONDS = 20.0
BASE_NANOS = 1_700_000_000_000_000_000


@dataclass(frozen=True)
class RunningStore:
    """A receiver process: where to reach it and which database it writes."""

    base_url: str
    port: int
    db_path: Path
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> bool:
    """Poll /healthz until it answers 200; False if the process died or the deadline passed."""
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def running_store(tmp_path: Path) -> Iterator[RunningStore]:
    """Start `python -m tracestore serve` on a free port with a fresh database; stop it after."""
    db_path = tmp_path / "data" / "traces.sqlite3"
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    # A port picked free can be taken before the server binds it; try a few before failing.
    for _ in range(3):
        port = _free_port()
        command = [sys.executable, "-m", "tracestore", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--db", str(db_path), "--log-level", "warning"]
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        base_url = f"http://127.0.0.1:{port}"
        if _wait_until_healthy(base_url, process):
            break
        _stop(process)
    else:
        stderr = process.stderr.read().decode() if process.stderr else ""
        pytest.fail(f"trace store did not start: {stderr}")
    try:
        yield RunningStore(base_url, port, db_path, process)
    finally:
        _stop(process)
        if process.stderr:
            process.stderr.close()


def _poll_trace(base_url: str, trace_id: str, span_count: int) -> dict[str, Any]:
    """Poll GET /api/traces/{id} until it holds span_count spans; fail at the deadline."""
    deadline = time.monotonic() + 10.0
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{base_url}/api/traces/{trace_id}", timeout=2.0)
        if response.status_code == 200:
            body = response.json()
            if body["span_count"] >= span_count:
                return body
        time.sleep(0.05)
    pytest.fail(f"trace {trace_id} did not reach {span_count} spans: {body}")


@pytest.fixture
def poll_trace() -> Callable[[str, str, int], dict[str, Any]]:
    """Return a poller: (base_url, trace_id, span_count) -> the trace's JSON once complete."""
    return _poll_trace


SpanFactory = Callable[..., SpanRecord]


@pytest.fixture
def make_span() -> SpanFactory:
    """Return a factory of SpanRecords with start/end given in milliseconds after a fixed epoch."""

    def factory(
        trace_id: str,
        span_id: str,
        parent_span_id: str | None,
        *,
        name: str,
        service: str,
        start_ms: float,
        end_ms: float,
        status: str = "UNSET",
        attributes: dict[str, Any] | None = None,
    ) -> SpanRecord:
        return SpanRecord(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_span_id,
            name=name,
            kind="SERVER",
            service_name=service,
            start_unix_nano=BASE_NANOS + int(start_ms * 1_000_000),
            end_unix_nano=BASE_NANOS + int(end_ms * 1_000_000),
            status=SpanStatus(status, "boom" if status == "ERROR" else ""),
            attributes=attributes or {},
            resource_attributes={"service.name": service},
        )

    return factory
