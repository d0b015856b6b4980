"""Decode OTLP/HTTP trace exports (protobuf or JSON, optionally compressed) into SpanRecords.

The wire-format rules of the OTLP specification live here, apart from the HTTP handler, so they
can be tested without a server: the two media types, gzip/deflate bodies, hex ids in OTLP/JSON,
AnyValue attributes turned into JSON-able values, and partial success for spans with bad ids.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracestore.models import Attributes, JSONValue, SpanEvent, SpanLink, SpanRecord, SpanStatus

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# Some clients send the unprefixed name; both mean the binary protobuf encoding.
_MEDIA_TYPES = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
# HTTP "deflate" is the zlib format (RFC 9110), which is what the OpenTelemetry SDK sends.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
MAX_BODY_BYTES = 64 * 1024 * 1024
UNKNOWN_SERVICE = "unknown_service"
# OTLP/JSON carries these ids as hex strings, where protobuf's JSON mapping expects base64.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
# OTLP timestamps are uint64; SQLite integers are signed 64-bit.
_MAX_NANOS = 2**63 - 1
# Short names (SERVER, ERROR) by number, looked up once per span rather than asked of the enum.
_KINDS = {int(number): name.removeprefix("SPAN_KIND_") for name, number in Span.SpanKind.items()}
_STATUS_CODES = {
    int(number): name.removeprefix("STATUS_CODE_") for name, number in Status.StatusCode.items()
}
# The AnyValue kinds whose field is already a JSON-able Python value.
_PLAIN_KINDS = frozenset({"string_value", "bool_value", "int_value"})


class InvalidOTLPError(ValueError):
    """The body is not a decodable OTLP trace export request."""


class UnsupportedMediaTypeError(ValueError):
    """The content type or content encoding is not one the receiver understands."""


class BodyTooLargeError(ValueError):
    """The (decompressed) body is larger than the receiver accepts."""


@dataclass(frozen=True, slots=True)
class DecodedExport:
    """The spans of one export request, and how many were refused and why."""

    spans: list[SpanRecord]
    rejected: int = 0
    message: str = ""


def media_type(content_type: str | None) -> str:
    """Return the canonical media type of a Content-Type header, or raise if unsupported."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence not in _MEDIA_TYPES:
        shown = essence or "none"
        raise UnsupportedMediaTypeError(
            f"content type {shown!r} is not supported; send {PROTOBUF} or {JSON}"
        )
    return _MEDIA_TYPES[essence]


def decompress(body: bytes, content_encoding: str | None) -> bytes:
    """Return the body with its Content-Encoding (gzip, deflate or identity) removed."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in _WBITS:
        raise UnsupportedMediaTypeError(
            f"content encoding {coding!r} is not supported; use gzip, deflate or identity"
        )
    decompressor = zlib.decompressobj(_WBITS[coding])
    try:
        data = decompressor.decompress(body, MAX_BODY_BYTES)
    except zlib.error as exc:
        raise InvalidOTLPError(f"body is not valid {coding} data: {exc}") from exc
    if decompressor.unconsumed_tail:
        raise BodyTooLargeError(f"decompressed body exceeds {MAX_BODY_BYTES} bytes")
    if not decompressor.eof:
        raise InvalidOTLPError(f"body is truncated {coding} data")
    return data


def parse_request(body: bytes, media: str) -> ExportTraceServiceRequest:
    """Parse an ExportTraceServiceRequest in the given media type, or raise InvalidOTLPError."""
    if media == JSON:
        return _parse_json(body)
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise InvalidOTLPError(f"body is not a protobuf ExportTraceServiceRequest: {exc}") from exc
    return request


def _parse_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidOTLPError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidOTLPError("body must be a JSON object with resourceSpans")
    request = ExportTraceServiceRequest()
    try:
        # The spec tells receivers to ignore unknown fields, for forward compatibility.
        json_format.ParseDict(_hex_ids_to_base64(document), request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidOTLPError(f"body is not an OTLP/JSON export request: {exc}") from exc
    return request


def _hex_ids_to_base64(node: Any) -> Any:
    """Return a copy of an OTLP/JSON document with hex trace/span ids re-encoded as base64."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: _hex_to_base64(key, value) if key in _ID_KEYS else _hex_ids_to_base64(value)
        for key, value in node.items()
    }


def _hex_to_base64(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidOTLPError(f"{key} must be a hex string, got {type(value).__name__}")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise InvalidOTLPError(f"{key} {value!r} is not a hex string") from exc
    return base64.b64encode(raw).decode("ascii")


def spans_from_request(request: ExportTraceServiceRequest) -> DecodedExport:
    """Turn an export request into SpanRecords, refusing spans whose ids are invalid."""
    spans: list[SpanRecord] = []
    problems: list[str] = []
    for resource_spans in request.resource_spans:
        resource = attributes_to_dict(resource_spans.resource.attributes)
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = _span_problem(span)
                if problem:
                    problems.append(problem)
                    continue
                spans.append(_span_record(span, service, resource, scope_spans.scope.name))
    message = f"{len(problems)} span(s) rejected: {problems[0]}" if problems else ""
    return DecodedExport(spans=spans, rejected=len(problems), message=message)


def _span_problem(span: Span) -> str | None:
    """Return why a span cannot be stored (bad ids or timestamps), or None when it can."""
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"span {span.name!r} has an invalid trace_id (want 16 non-zero bytes)"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span {span.name!r} has an invalid span_id (want 8 non-zero bytes)"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"span {span.name!r} has an invalid parent_span_id (want 8 bytes)"
    if max(span.start_time_unix_nano, span.end_time_unix_nano) > _MAX_NANOS:
        return f"span {span.name!r} has a timestamp beyond the year 2262"
    return None


def _span_record(span: Span, service: str, resource: Attributes, scope_name: str) -> SpanRecord:
    # Each field read from a message builds a new Python object: read each once.
    parent = span.parent_span_id
    status = span.status
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=parent.hex() if any(parent) else None,
        name=span.name,
        kind=_short_name(_KINDS, span.kind),
        service_name=service,
        start_unix_nano=span.start_time_unix_nano,
        end_unix_nano=span.end_time_unix_nano,
        status=SpanStatus(code=_short_name(_STATUS_CODES, status.code), message=status.message),
        attributes=attributes_to_dict(span.attributes),
        events=[
            SpanEvent(event.name, event.time_unix_nano, attributes_to_dict(event.attributes))
            for event in span.events
        ],
        links=[
            SpanLink(link.trace_id.hex(), link.span_id.hex(), attributes_to_dict(link.attributes))
            for link in span.links
        ],
        resource_attributes=resource,
        scope_name=scope_name,
        trace_state=span.trace_state,
    )


def _short_name(names: dict[int, str], value: int) -> str:
    """Return an enum value's short name (SERVER, ERROR); unknown values keep their number."""
    name = names.get(value)
    return str(value) if name is None else name


def attributes_to_dict(attributes: Iterable[KeyValue]) -> Attributes:
    """Convert OTLP key/value attributes into a dict of JSON-able values."""
    converted: Attributes = {}
    for attribute in attributes:
        value = attribute.value
        kind = value.WhichOneof("value")
        # A plain kind is taken as it is, without a call per attribute (most attributes are).
        if kind in _PLAIN_KINDS:
            converted[attribute.key] = getattr(value, kind)
        else:
            converted[attribute.key] = any_value_to_python(value)
    return converted


def any_value_to_python(value: AnyValue) -> JSONValue:
    """Convert an OTLP AnyValue into a JSON-able Python value (bytes become base64 text)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value_to_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_dict(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind == "double_value":
        number = value.double_value
        # NaN and infinities have no JSON spelling; keep them readable instead of invalid.
        return number if math.isfinite(number) else str(number)
    if kind in ("string_value", "bool_value", "int_value"):
        return getattr(value, kind)
    # Unset, or a string-table index that only means something inside OTLP profiles.
    return None


def encode_response(decoded: DecodedExport, media: str) -> bytes:
    """Encode the ExportTraceServiceResponse for a decoded export in the request's media type."""
    response = ExportTraceServiceResponse()
    if decoded.rejected:
        response.partial_success.rejected_spans = decoded.rejected
        response.partial_success.error_message = decoded.message
    if media == JSON:
        text: str = json_format.MessageToJson(response, indent=None)
        return text.encode("utf-8")
    encoded: bytes = response.SerializeToString()
    return encoded
