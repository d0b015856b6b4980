"""Wire-format rules: AnyValue conversion, content types and content encodings."""

from __future__ import annotations

import gzip
import zlib

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
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
