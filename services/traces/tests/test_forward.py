"""The gateway's spans leave the store for another OTLP receiver (compose: the collector).

The receiving end is either a second real store, or a recording OTLP/HTTP receiver standing in for
the collector (outside the project) that refuses the first export with 503, as a collector that is
still starting does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest
from strangler_testing import wait_until
from tracestore import forward, otlp
from tracestore.cli import main
from tracestore.forward import encode_request
from tracestore.gatewaylog import gateway_resource, span_from_line
from tracestore.models import SpanEvent, SpanLink, SpanRecord, SpanStatus

from .test_follower import TRACE, append, line


def _decoded(body: bytes) -> list[SpanRecord]:
    return otlp.spans_from_request(otlp.parse_request(body, otlp.PROTOBUF)).spans


def test_encoding_round_trips_through_the_receivers_decoder() -> None:
    gateway = span_from_line(line(7, status=502), gateway_resource({}))
    assert gateway is not None
    other = SpanRecord(
        trace_id=TRACE,
        span_id="00000000000000aa",
        parent_span_id=gateway.span_id,
        name="compare",
        kind="INTERNAL",
        service_name="shadow",
        start_unix_nano=1,
        end_unix_nano=2,
        status=SpanStatus("OK"),
        attributes={"ratio": 0.5, "tags": ["a", "b"], "nested": {"k": 1}},
        events=[SpanEvent("first_token", 2, {"n": 1})],
        links=[SpanLink(TRACE, gateway.span_id, {"role": "user"})],
        resource_attributes={"service.name": "shadow"},
        scope_name="tests",
        trace_state="vendor=x",
    )

    assert _decoded(encode_request([gateway, other])) == [gateway, other]


def test_the_gateways_resource_names_its_version_and_environment() -> None:
    named = gateway_resource(
        {"OTEL_RESOURCE_ATTRIBUTES": "team=edge,deployment.environment=ci%2D1"}
    )
    unnamed = gateway_resource({})

    assert named == {
        "service.name": "gateway",
        "service.version": version("strangler-gateway"),
        "deployment.environment.name": "ci-1",
        "deployment.environment": "ci-1",
    }
    assert unnamed["deployment.environment.name"] == "local"


class _Collector(BaseHTTPRequestHandler):
    """Refuse the first export with 503, then record each one and answer 200."""

    server: _Recording

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.attempts += 1
            refuse = self.server.attempts == 1
            if not refuse:
                self.server.exports.append((self.path, self.headers["Content-Type"], body))
        self.send_response(503 if refuse else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


class _Recording(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Collector)
        self.lock = threading.Lock()
        self.attempts = 0
        self.exports: list[tuple[str, str, bytes]] = []


@pytest.fixture
def collector() -> Iterator[_Recording]:
    server = _Recording()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _forwarded(collector: _Recording) -> list[SpanRecord]:
    with collector.lock:
        return [span for _, _, body in collector.exports for span in _decoded(body)]


def _poll(check: Any, seconds: float = 15.0) -> Any:
    return wait_until(check, timeout=seconds, every=0.05)


def test_serve_forwards_each_gateway_span_and_retries_a_refusal(
    tmp_path: Path, start_store: Any, collector: _Recording
) -> None:
    log = tmp_path / "access.log"
    log.touch()
    url = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    store = start_store("--gateway-log", str(log), "--forward-gateway-spans", url)

    append(log, line(1), line(2))
    forwarded = _poll(lambda: len(_forwarded(collector)) >= 2 and _forwarded(collector))

    assert {(path, kind) for path, kind, _ in collector.exports} == {("/v1/traces", otlp.PROTOBUF)}
    assert collector.attempts == len(collector.exports) + 1, "the refused export was sent again"
    assert [span.span_id for span in forwarded] == [f"{1:016x}", f"{2:016x}"]
    assert {span.service_name for span in forwarded} == {"gateway"}
    stored = httpx.get(f"{store.base_url}/api/traces/{TRACE}").json()["spans"]
    assert [span["span_id"] for span in stored] == [span.span_id for span in forwarded]


def test_forwarding_needs_a_log_to_follow(tmp_path: Path) -> None:
    db = tmp_path / "data" / "traces.sqlite3"
    argv = ["serve", "--db", str(db), "--forward-gateway-spans", "http://127.0.0.1:9/v1/traces"]

    assert main(argv) == 2
    assert not db.parent.exists(), "refused before anything was created"


def _gateway_span(index: int) -> SpanRecord:
    span = span_from_line(line(index), gateway_resource({}))
    assert span is not None
    return span


def test_stop_ends_a_backoff_and_gives_the_batch_its_last_try(
    collector: _Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A backoff far longer than stop() waits: only an interruptible wait lets the batch out.
    monkeypatch.setattr(forward, "RETRY_INITIAL_SECONDS", 600.0)
    forwarder = forward.SpanForwarder(f"http://127.0.0.1:{collector.server_address[1]}/v1/traces")
    forwarder.start()
    forwarder.submit([_gateway_span(1)])
    _poll(lambda: collector.attempts >= 1)

    forwarder.stop(timeout=5)

    assert [span.span_id for span in _forwarded(collector)] == [f"{1:016x}"]


def test_a_batch_that_cannot_be_sent_is_logged_and_forwarding_goes_on(
    collector: _Recording, caplog: pytest.LogCaptureFixture
) -> None:
    broken = replace(_gateway_span(1), trace_id="not hex")
    forwarder = forward.SpanForwarder(f"http://127.0.0.1:{collector.server_address[1]}/v1/traces")
    forwarder.start()
    try:
        forwarder.submit([broken])
        forwarder.submit([_gateway_span(2)])
        forwarded = _poll(lambda: _forwarded(collector))
    finally:
        forwarder.stop(timeout=5)

    assert [span.span_id for span in forwarded] == [f"{2:016x}"]
    assert "could not forward 1 spans (traces not hex)" in caplog.text
