"""Fixtures for the trace store tests: a real store process on a free port, spans, real traffic.

The receiver runs exactly as the local stack runs it (`python -m tracestore serve`), so the tests
exercise uvicorn, the HTTP stack and SQLite across processes, not an in-process shortcut.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    format_span_id,
    format_trace_id,
    set_span_in_context,
)
from strangler_testing import DeadlineError, picked_port, wait_until
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
    # `tracestore serve` takes a port number, not a socket: a port the kernel just picked.
    return picked_port()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> bool:
    """Poll /healthz until it answers 200; False if the process died or the deadline passed."""

    def healthy() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    try:
        return wait_until(
            healthy,
            timeout=STARTUP_DEADLINE_SECONDS,
            every=0.05,
            alive=lambda: process.poll() is None,
        )
    except DeadlineError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


StartStore = Callable[..., RunningStore]


@pytest.fixture
def start_store(tmp_path: Path) -> Iterator[StartStore]:
    """Return a starter of `python -m tracestore serve` on a free port; stop them all after.

    Extra command-line arguments (e.g. --gateway-log PATH) are passed through; db_path reuses a
    database, so a test can restart the store over the same file.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str, db_path: Path | None = None) -> RunningStore:
        db = db_path or tmp_path / "data" / "traces.sqlite3"
        store = _start(db, list(extra))
        started.append(store.process)
        return store

    try:
        yield start
    finally:
        for process in started:
            _stop(process)
            if process.stderr:
                process.stderr.close()


def _start(db_path: Path, extra: list[str]) -> RunningStore:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    # A port picked free can be taken before the server binds it; try a few before failing.
    for _ in range(3):
        port = _free_port()
        command = [sys.executable, "-m", "tracestore", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--db", str(db_path), "--log-level", "warning", *extra]
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        base_url = f"http://127.0.0.1:{port}"
        if _wait_until_healthy(base_url, process):
            return RunningStore(base_url, port, db_path, process)
        _stop(process)
    stderr = process.stderr.read().decode() if process.stderr else ""
    pytest.fail(f"trace store did not start: {stderr}")


@pytest.fixture
def running_store(start_store: StartStore) -> RunningStore:
    """A `python -m tracestore serve` process on a free port with a fresh database."""
    return start_store()


def _poll_trace(base_url: str, trace_id: str, span_count: int) -> dict[str, Any]:
    """Poll GET /api/traces/{id} until it holds span_count spans; fail at the deadline."""

    def complete() -> dict[str, Any]:
        response = httpx.get(f"{base_url}/api/traces/{trace_id}", timeout=2.0)
        body: dict[str, Any] = response.json() if response.status_code == 200 else {}
        return body if body.get("span_count", 0) >= span_count else {}

    what = f"trace {trace_id} to reach {span_count} spans"
    return wait_until(complete, timeout=10.0, every=0.05, what=what)


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


@dataclass(frozen=True)
class RecordedTrace:
    """A request recorded across gateway, core and rag, and a shadow trace linking to it."""

    trace_id: str
    gateway_span_id: str
    shadow_trace_id: str
    spans: list[tuple[str, str]]


class _Services:
    """One TracerProvider per service, each exporting over OTLP/HTTP like a real process."""

    def __init__(self, base_url: str) -> None:
        self.providers: dict[str, TracerProvider] = {}
        self.endpoint = f"{base_url}/v1/traces"

    def tracer(self, service: str) -> Tracer:
        if service not in self.providers:
            exporter = OTLPSpanExporter(endpoint=self.endpoint, timeout=5)
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            self.providers[service] = provider
        return self.providers[service].get_tracer("tests.tracestore")

    def shutdown(self) -> None:
        for provider in self.providers.values():
            provider.shutdown()


# (service, name, kind, parent index or None for the gateway, start ms, end ms, attributes)
_SUGGESTIONS: list[tuple[str, str, SpanKind, int | None, float, float, dict[str, Any]]] = [
    (
        "core",
        "GET /api/customers/{id}/suggestions",
        SpanKind.SERVER,
        None,
        3,
        112,
        {
            "http.route": "/api/customers/{id}/suggestions",
            "migration.route": "suggestions",
            "migration.mode": "legacy",
            "migration.target": "legacy",
            "migration.bucket": 37,
            "migration.fallback": False,
        },
    ),
    ("core", "SELECT core_customer", SpanKind.CLIENT, 0, 6, 14, {"db.system": "sqlite"}),
    ("core", "GET", SpanKind.CLIENT, 0, 18, 104, {"http.request.method": "GET"}),
    (
        "rag",
        "GET /internal/customers/{customer_id}/suggestions",
        SpanKind.SERVER,
        2,
        22,
        100,
        {"http.route": "/internal/customers/{customer_id}/suggestions"},
    ),
    (
        "rag",
        "/strangler.core.v1.CoreService/GetCustomer",
        SpanKind.CLIENT,
        3,
        26,
        58,
        {"rpc.system": "grpc", "rpc.method": "GetCustomer"},
    ),
    (
        "core",
        "/strangler.core.v1.CoreService/GetCustomer",
        SpanKind.SERVER,
        4,
        30,
        54,
        {"rpc.system": "grpc"},
    ),
    ("rag", "retrieval.search", SpanKind.INTERNAL, 3, 62, 94, {"retrieval.k": 3}),
]


def _remote(trace_id: int, span_id: int) -> Context:
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(1))
    return set_span_in_context(NonRecordingSpan(parent))


def record_suggestions_trace(base_url: str, access_log: Path) -> RecordedTrace:
    """Record core -> rag (HTTP) -> core (gRPC) with the real SDK exporter, behind a gateway line.

    Each service exports through its own TracerProvider and OTLPSpanExporter, as the processes do;
    the gateway's span comes from a line appended to access_log, which the store follows. Times
    are explicit, so the shape of the waterfall is known.
    """
    trace_id, gateway_span = random.getrandbits(128), random.getrandbits(64) | 1
    base = time.time_ns() - 2_000_000_000
    services = _Services(base_url)
    recorded: list[Span] = []
    try:
        for service, name, kind, parent, start, _end, attributes in _SUGGESTIONS:
            context = (
                _remote(trace_id, gateway_span)
                if parent is None
                else set_span_in_context(recorded[parent])
            )
            span = services.tracer(service).start_span(
                name, context, kind, attributes, start_time=base + int(start * 1e6)
            )
            recorded.append(span)
        recorded[6].add_event("first_result", {"hits": 3}, timestamp=base + 80_000_000)
        recorded[4].set_status(Status(StatusCode.ERROR, "deadline exceeded on first try"))
        for span, row in zip(reversed(recorded), reversed(_SUGGESTIONS), strict=True):
            span.end(end_time=base + int(row[5] * 1e6))
        shadow = services.tracer("shadow").start_span(
            "compare suggestions",
            kind=SpanKind.INTERNAL,
            links=[Link(SpanContext(trace_id, gateway_span, True), {"shadow.role": "user"})],
            start_time=base + 200_000_000,
        )
        shadow.end(end_time=base + 260_000_000)
    finally:
        services.shutdown()
    _append_gateway_line(access_log, trace_id, gateway_span, base)
    return RecordedTrace(
        trace_id=format_trace_id(trace_id),
        gateway_span_id=format_span_id(gateway_span),
        shadow_trace_id=format_trace_id(shadow.get_span_context().trace_id),
        spans=[("gateway", "GET suggestions")] + [(row[0], row[1]) for row in _SUGGESTIONS],
    )


def _append_gateway_line(access_log: Path, trace_id: int, span_id: int, base: int) -> None:
    end = datetime.fromtimestamp((base + 115_000_000) / 1e9, tz=UTC)
    entry = {
        "time": end.isoformat(timespec="milliseconds"),
        "request_id": format_trace_id(trace_id),
        "trace_id": format_trace_id(trace_id),
        "span_id": format_span_id(span_id),
        "parent_span_id": "",
        "method": "GET",
        "uri": "/api/customers/1/suggestions?k=3",
        "status": 200,
        "route": "suggestions",
        "mode": "legacy",
        "target": "legacy",
        "bucket": "37",
        "fallback": False,
        "upstream_addr": "127.0.0.1:8000",
        "upstream_status": "200",
        "request_time": 0.115,
        "upstream_response_time": "0.112",
        "user_agent": "curl/8.0",
        "config": "cfg-test",
    }
    with access_log.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


@pytest.fixture
def recorded_trace(start_store: StartStore, tmp_path: Path) -> tuple[RunningStore, RecordedTrace]:
    """Start a store that follows an access log, record the suggestions trace, wait for it."""
    access_log = tmp_path / "logs" / "access.log"
    access_log.parent.mkdir(parents=True, exist_ok=True)
    access_log.touch()
    store = start_store("--gateway-log", str(access_log))
    recorded = record_suggestions_trace(store.base_url, access_log)
    _poll_trace(store.base_url, recorded.trace_id, len(recorded.spans))
    _poll_trace(store.base_url, recorded.shadow_trace_id, 1)
    return store, recorded
