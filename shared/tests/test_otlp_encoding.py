"""The span encoder writes what the official OTLP encoder writes, and the exporter sends it."""

import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as official
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from strangler_shared import _otlp_encoding
from strangler_shared._otlp_encoding import OTLPSpanExporter, encode_spans
from strangler_shared._telemetry import _exporter_from_env

REMOTE = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "a1"), ("other", "b2")]),
)


def _finished(
    resource: Resource, limits: SpanLimits | None = None
) -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _decoded(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(encode_spans(spans))


def _varied_spans() -> list[ReadableSpan]:
    """Spans of two resources and three scopes, with every field and attribute type set."""
    core, core_spans = _finished(
        Resource({"service.name": "core", "service.version": "1.2.3", "host.cores": 2}),
        SpanLimits(max_span_attributes=12, max_events=2, max_links=1),
    )
    rag, rag_spans = _finished(
        Resource({"service.name": "rag"}, schema_url="https://opentelemetry.io/schemas/1.21.0")
    )
    server = core.get_tracer("core.http", "0.1", schema_url="https://example.test/s", attributes={
        "scope.kind": "http"})  # fmt: skip
    with server.start_as_current_span(
        "GET /api/search",
        context=set_span_in_context(NonRecordingSpan(REMOTE)),
        kind=SpanKind.SERVER,
        attributes={
            "http.method": "GET", "http.status_code": 200, "ok": True, "cached": False,
            "ratio": 0.25, "zero": 0, "negative": -42, "huge": 2**62, "empty": "",
            "tags": ("a", "b"), "ports": [80, 443], "flags": [True, False],
            "weights": (0.5, 1.5), "unicode": "déjà vu ✓",
        },
        links=[Link(REMOTE, {"link.reason": "retry"}), Link(REMOTE)],
    ) as span:  # fmt: skip
        span.add_event("first", {"n": 1})
        span.add_event("second")
        span.add_event("third", {"dropped": "the limit is two"})
        with core.get_tracer("sqlite3").start_as_current_span("SELECT") as query:
            query.set_attribute("db.statement", "SELECT 1")
            query.set_status(Status(StatusCode.ERROR, "no such table"))
        with core.get_tracer("bare").start_as_current_span("", kind=SpanKind.CLIENT) as bare:
            bare.set_status(Status(StatusCode.OK))
    for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL):
        rag.get_tracer("rag").start_span(f"work {kind.name}", kind=kind).end()
    return [*core_spans.get_finished_spans(), *rag_spans.get_finished_spans()]


def test_a_varied_batch_decodes_to_what_the_official_encoder_makes() -> None:
    spans = _varied_spans()
    ours = _decoded(spans)
    assert ours == official(spans)
    assert len(encode_spans(spans)) == official(spans).ByteSize()
    assert [len(r.scope_spans) for r in ours.resource_spans] == [3, 1]


def test_repeated_pairs_come_from_the_memo_and_equal_a_fresh_encoding() -> None:
    spans = _varied_spans()
    first = encode_spans(spans)
    assert _otlp_encoding._memo  # the scalar pairs were kept
    assert encode_spans(spans) == first
    _otlp_encoding._memo.clear()
    assert encode_spans(spans) == first


def test_equal_values_of_different_types_keep_their_own_encoding() -> None:
    # True == 1 == 1.0 as dictionary keys: a memo keyed by value alone would mix them up.
    provider, memory = _finished(Resource({"service.name": "core"}))
    for value in (True, 1, 1.0, False, 0, 0.0):
        provider.get_tracer("t").start_span("s", attributes={"a": value}).end()
    spans = memory.get_finished_spans()
    decoded = _decoded(spans)
    assert decoded == official(spans)
    values = [s.attributes[0].value.WhichOneof("value") for s in decoded.resource_spans[0]
              .scope_spans[0].spans]  # fmt: skip
    assert values == ["bool_value", "int_value", "double_value"] * 2


def test_an_attribute_no_encoder_can_write_is_left_out_as_the_official_one_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, memory = _finished(Resource({"service.name": "core"}))
    span = provider.get_tracer("t").start_span("s", attributes={"kept": 1})
    # The SDK accepts any int; OTLP's int64 cannot hold this one.
    span._attributes._dict["too.big"] = 2**70  # type: ignore[attr-defined]
    span.end()
    spans = memory.get_finished_spans()
    decoded = _decoded(spans)
    assert decoded == official(spans)
    assert [kv.key for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes] == [
        "kept"
    ]
    assert "too.big" in caplog.text


def test_the_memo_stays_bounded_under_one_off_values() -> None:
    provider, memory = _finished(Resource({"service.name": "core"}))
    tracer = provider.get_tracer("t")
    for n in range(_otlp_encoding._MEMO_LIMIT + 500):
        tracer.start_span("s", attributes={"http.target": f"/api/search?q={n}"}).end()
    long_text = "x" * (_otlp_encoding._MEMO_TEXT_LIMIT + 1)
    tracer.start_span("s", attributes={"db.statement": long_text}).end()
    spans = memory.get_finished_spans()
    assert _decoded(spans) == official(spans)
    assert len(_otlp_encoding._memo) <= _otlp_encoding._MEMO_LIMIT
    assert not any(long_text in key for key in _otlp_encoding._memo)


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[str, str, bytes]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.bodies.append((self.path, self.headers["Content-Type"], body))
        self.send_response(_Receiver.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test's output quiet."""


@pytest.fixture
def receiver() -> Iterator[str]:
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps each request it receives."""
    _Receiver.bodies, _Receiver.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    server.shutdown()
    server.server_close()


def test_the_exporter_posts_the_batch_as_otlp_protobuf(receiver: str) -> None:
    spans = _varied_spans()
    exporter = OTLPSpanExporter(endpoint=receiver, timeout=5)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    [(path, content_type, body)] = _Receiver.bodies
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert ExportTraceServiceRequest.FromString(body) == official(spans)
    exporter.shutdown()
    assert exporter.export(spans) is SpanExportResult.FAILURE
    assert len(_Receiver.bodies) == 1


def test_the_exporter_fails_a_batch_the_receiver_refuses_or_that_is_too_large(
    receiver: str,
) -> None:
    spans = _varied_spans()
    _Receiver.status = 400  # not retryable: one request, then failure
    assert OTLPSpanExporter(endpoint=receiver, timeout=5).export(spans) is SpanExportResult.FAILURE
    assert len(_Receiver.bodies) == 1
    small = OTLPSpanExporter(endpoint=receiver, timeout=5, max_request_size=100)
    assert small.export(spans) is SpanExportResult.FAILURE
    assert len(_Receiver.bodies) == 1  # dropped before sending


def test_the_services_export_with_this_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert isinstance(_exporter_from_env(), OTLPSpanExporter)
