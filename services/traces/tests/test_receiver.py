"""The receiver over a real uvicorn process, fed by the OpenTelemetry SDK's own OTLP exporter."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    format_span_id,
    format_trace_id,
    set_span_in_context,
)
from strangler_testing import captured_spans
from tracestore.store import TraceStore
from tracestore.tree import build_tree

Poll = Callable[[str, str, int], dict[str, Any]]


def _provider(
    endpoint: str, service: str, compression: Compression | None = None
) -> TracerProvider:
    exporter = OTLPSpanExporter(endpoint=endpoint, compression=compression, timeout=5)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def sdk_provider(running_store: Any) -> Iterator[TracerProvider]:
    """A TracerProvider (not the global one) exporting to the running store."""
    provider = _provider(f"{running_store.base_url}/v1/traces", "checkout")
    yield provider
    provider.shutdown()


def _record_request(provider: TracerProvider) -> dict[str, Any]:
    """Record a server span with a client child carrying attributes, an event and a link."""
    tracer = provider.get_tracer("tests.tracestore")
    with tracer.start_as_current_span("enqueue") as producer:
        pass
    with (
        tracer.start_as_current_span(
            "GET /orders/{id}",
            kind=SpanKind.SERVER,
            attributes={"http.route": "/orders/{id}", "http.request.method": "GET"},
        ) as parent,
        tracer.start_as_current_span(
            "CoreService/GetOrder",
            kind=SpanKind.CLIENT,
            links=[Link(producer.get_span_context(), {"link.reason": "batched"})],
            attributes={
                "rpc.method": "GetOrder",
                "retry.count": 2,
                "ratio": 0.5,
                "tags": ["a", "b"],
            },
        ) as child,
    ):
        child.add_event("cache.miss", {"cache.key": "order:7"})
        child.set_status(Status(StatusCode.ERROR, "order not found"))
    assert provider.force_flush(5000)
    return {"producer": producer, "parent": parent, "child": child}


def test_sdk_export_is_stored_as_a_tree(
    running_store: Any, sdk_provider: TracerProvider, poll_trace: Poll
) -> None:
    spans = _record_request(sdk_provider)
    parent_ctx = spans["parent"].get_span_context()
    trace_id = format_trace_id(parent_ctx.trace_id)

    body = poll_trace(running_store.base_url, trace_id, 2)

    by_name = {span["name"]: span for span in body["spans"]}
    parent, child = by_name["GET /orders/{id}"], by_name["CoreService/GetOrder"]
    assert body["trace_id"] == trace_id
    assert parent["span_id"] == format_span_id(parent_ctx.span_id)
    assert parent["parent_span_id"] is None
    assert child["parent_span_id"] == parent["span_id"]
    assert (parent["kind"], child["kind"]) == ("SERVER", "CLIENT")
    assert {parent["service_name"], child["service_name"]} == {"checkout"}
    assert child["resource_attributes"]["service.name"] == "checkout"
    assert parent["attributes"] == {"http.route": "/orders/{id}", "http.request.method": "GET"}
    assert child["attributes"] == {
        "rpc.method": "GetOrder",
        "retry.count": 2,
        "ratio": 0.5,
        "tags": ["a", "b"],
    }
    assert child["status"] == {"code": "ERROR", "message": "order not found"}
    assert parent["status"]["code"] == "UNSET"


def test_sdk_export_keeps_events_links_and_timing(
    running_store: Any, sdk_provider: TracerProvider, poll_trace: Poll
) -> None:
    spans = _record_request(sdk_provider)
    child_sdk: ReadableSpan = spans["child"]
    producer_ctx = spans["producer"].get_span_context()
    trace_id = format_trace_id(child_sdk.context.trace_id)

    body = poll_trace(running_store.base_url, trace_id, 2)

    child = next(span for span in body["spans"] if span["name"] == "CoreService/GetOrder")
    assert child["events"] == [
        {
            "name": "cache.miss",
            "time_unix_nano": child_sdk.events[0].timestamp,
            "attributes": {"cache.key": "order:7"},
        }
    ]
    assert child["links"] == [
        {
            "trace_id": format_trace_id(producer_ctx.trace_id),
            "span_id": format_span_id(producer_ctx.span_id),
            "attributes": {"link.reason": "batched"},
        }
    ]
    assert child["start_unix_nano"] == child_sdk.start_time
    assert child["end_unix_nano"] == child_sdk.end_time
    expected_ms = (child_sdk.end_time - child_sdk.start_time) / 1e6  # type: ignore[operator]
    assert child["duration_ms"] == pytest.approx(expected_ms, abs=0.001)


def test_stored_spans_build_one_root_with_its_child(
    running_store: Any, sdk_provider: TracerProvider, poll_trace: Poll
) -> None:
    spans = _record_request(sdk_provider)
    trace_id = format_trace_id(spans["parent"].get_span_context().trace_id)
    poll_trace(running_store.base_url, trace_id, 2)

    with TraceStore(running_store.db_path) as store:
        roots = build_tree(store.spans(trace_id))

    assert [root.span.name for root in roots] == ["GET /orders/{id}"]
    assert not roots[0].orphan
    assert [child.span.name for child in roots[0].children] == ["CoreService/GetOrder"]


def test_gzip_export_from_the_sdk_is_stored(running_store: Any, poll_trace: Poll) -> None:
    endpoint = f"{running_store.base_url}/v1/traces"
    provider = _provider(endpoint, "gzipped", Compression.Gzip)
    with provider.get_tracer("tests").start_as_current_span("compressed") as span:
        pass
    provider.force_flush(5000)
    provider.shutdown()

    body = poll_trace(running_store.base_url, format_trace_id(span.get_span_context().trace_id), 1)

    assert [(s["service_name"], s["name"]) for s in body["spans"]] == [("gzipped", "compressed")]


def _encoded_batch() -> bytes:
    """Record two spans in memory and encode them as the SDK exporter would send them."""
    with captured_spans("resender") as spans:
        tracer = spans.provider.get_tracer("tests")
        with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner"):
            pass
        encoded: bytes = encode_spans(spans.finished()).SerializeToString()
    return encoded


def test_resent_protobuf_batch_is_not_duplicated(running_store: Any) -> None:
    batch = _encoded_batch()
    headers = {"Content-Type": "application/x-protobuf"}

    first = httpx.post(f"{running_store.base_url}/v1/traces", content=batch, headers=headers)
    second = httpx.post(f"{running_store.base_url}/v1/traces", content=batch, headers=headers)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers["content-type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(second.content).HasField("partial_success")
    listed = httpx.get(f"{running_store.base_url}/api/traces").json()["traces"]
    assert [(t["span_count"], t["root_name"]) for t in listed] == [(2, "outer")]


def test_gzip_protobuf_body_is_accepted(running_store: Any) -> None:
    response = httpx.post(
        f"{running_store.base_url}/v1/traces",
        content=gzip.compress(_encoded_batch()),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert httpx.get(f"{running_store.base_url}/api/traces").json()["traces"][0]["span_count"] == 2


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"\xff\xff\xff\xff", {"Content-Type": "application/x-protobuf"}),
        (
            b"not gzip at all",
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        ),
        (b"{not json", {"Content-Type": "application/json"}),
        (b"[1, 2]", {"Content-Type": "application/json"}),
    ],
    ids=["garbage-protobuf", "bad-gzip", "broken-json", "json-not-an-object"],
)
def test_garbage_body_is_400_invalid_otlp(
    running_store: Any, content: bytes, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{running_store.base_url}/v1/traces", content=content, headers=headers)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_otlp"
    assert error["message"]
    assert httpx.get(f"{running_store.base_url}/api/traces").json() == {"traces": []}


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {},
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "br"},
    ],
    ids=["text-plain", "no-content-type", "brotli"],
)
def test_unsupported_content_type_is_415(running_store: Any, headers: dict[str, str]) -> None:
    response = httpx.post(
        f"{running_store.base_url}/v1/traces", content=_encoded_batch(), headers=headers
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_concurrent_exports_are_all_stored(running_store: Any) -> None:
    batches = [_encoded_batch() for _ in range(16)]
    headers = {"Content-Type": "application/x-protobuf"}

    def send(batch: bytes) -> int:
        url = f"{running_store.base_url}/v1/traces"
        return httpx.post(url, content=batch, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, batches))

    assert statuses == [200] * 16
    listed = httpx.get(f"{running_store.base_url}/api/traces", params={"limit": 50}).json()
    assert [trace["span_count"] for trace in listed["traces"]] == [2] * 16


def test_trace_state_of_each_span_is_kept(
    running_store: Any, sdk_provider: TracerProvider, poll_trace: Poll
) -> None:
    state = TraceState([("strangler", "t61rcWkgMzE"), ("vendor", "opaque-value")])
    sampled = TraceFlags(TraceFlags.SAMPLED)
    remote = SpanContext(
        0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, sampled, state
    )
    context = set_span_in_context(NonRecordingSpan(remote))
    with sdk_provider.get_tracer("tests").start_as_current_span("continued", context):
        pass
    assert sdk_provider.force_flush(5000)

    body = poll_trace(running_store.base_url, "4bf92f3577b34da6a3ce929d0e0e4736", 1)

    assert body["spans"][0]["trace_state"] == "strangler=t61rcWkgMzE,vendor=opaque-value"
