"""Wire-format rules: AnyValue conversion, content types and content encodings."""

from __future__ import annotations

import gzip
import zlib

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from tracestore import otlp


def test_any_value_converts_every_kind_to_json_able_python() -> None:
    nested = KeyValueList(values=[KeyValue(key="n", value=AnyValue(int_value=-3))])
    array = ArrayValue(values=[AnyValue(bool_value=True), AnyValue(kvlist_value=nested)])

    assert otlp.any_value_to_python(AnyValue(string_value="s")) == "s"
    assert otlp.any_value_to_python(AnyValue(double_value=1.5)) == 1.5
    assert otlp.any_value_to_python(AnyValue(double_value=float("nan"))) == "nan"
    assert otlp.any_value_to_python(AnyValue(bytes_value=b"\x00\x01")) == "AAE="
    assert otlp.any_value_to_python(AnyValue(array_value=array)) == [True, {"n": -3}]
    assert otlp.any_value_to_python(AnyValue()) is None


def test_a_span_keeps_its_kind_status_and_every_kind_of_attribute() -> None:
    attributes = [
        KeyValue(key="s", value=AnyValue(string_value="GET")),
        KeyValue(key="i", value=AnyValue(int_value=200)),
        KeyValue(key="b", value=AnyValue(bool_value=False)),
        KeyValue(key="d", value=AnyValue(double_value=0.5)),
        KeyValue(key="a", value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))),
        KeyValue(key="unset", value=AnyValue()),
    ]
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    cases = [
        (Span.SPAN_KIND_SERVER, Status.STATUS_CODE_ERROR),
        (Span.SpanKind.ValueType(42), Status.StatusCode.ValueType(7)),  # newer than the receiver
    ]
    for number, (kind, code) in enumerate(cases, start=1):
        span = scope_spans.spans.add(trace_id=bytes(15) + b"\x01", span_id=bytes([number] * 8))
        span.kind, span.status.code, span.status.message = kind, code, "boom"
        span.attributes.extend(attributes)

    known, unknown = otlp.spans_from_request(request).spans

    assert (known.kind, known.status.code, known.status.message) == ("SERVER", "ERROR", "boom")
    assert (unknown.kind, unknown.status.code) == ("42", "7")  # a newer enum value keeps its number
    assert known.attributes == {"s": "GET", "i": 200, "b": False, "d": 0.5, "a": [1], "unset": None}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/x-protobuf", otlp.PROTOBUF),
        ("Application/JSON; charset=utf-8", otlp.JSON),
        ("application/protobuf", otlp.PROTOBUF),
    ],
)
def test_media_type_accepts_otlp_types(header: str, expected: str) -> None:
    assert otlp.media_type(header) == expected


def test_media_type_refuses_others() -> None:
    with pytest.raises(otlp.UnsupportedMediaTypeError, match="text/html"):
        otlp.media_type("text/html")


def test_decompress_handles_gzip_deflate_and_identity() -> None:
    body = b"payload" * 10

    assert otlp.decompress(gzip.compress(body), "gzip") == body
    assert otlp.decompress(zlib.compress(body), "deflate") == body
    assert otlp.decompress(body, None) == body


def test_decompress_refuses_truncated_and_oversized_bodies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compressed = gzip.compress(b"x" * 1000)

    with pytest.raises(otlp.InvalidOTLPError, match="truncated"):
        otlp.decompress(compressed[:-10], "gzip")
    monkeypatch.setattr(otlp, "MAX_BODY_BYTES", 100)
    with pytest.raises(otlp.BodyTooLargeError):
        otlp.decompress(compressed, "gzip")
