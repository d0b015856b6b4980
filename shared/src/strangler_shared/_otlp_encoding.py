"""Finished spans written straight to OTLP's protobuf wire format, repeated attributes once.

The official encoder builds a protobuf object for every span, attribute and value, then
serialises the tree: 27-33 µs per span of core's search on the project's 2-core machine, in the
exporter's thread of the same process, holding the same interpreter lock as the requests. Most
attribute pairs repeat from span to span (the method, the host, a query's statement), so each
(key, value) pair is encoded once and its bytes kept in a bounded memo: about 8 µs per span.

The output is an ``ExportTraceServiceRequest`` equal, message for message, to the official
encoder's (the tests decode both with the official classes and compare them), so any OTLP
receiver reads it as it reads the official one.
"""

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http import trace_exporter as _official
from opentelemetry.exporter.otlp.proto.http._common import (
    RequestPayloadTooLargeError,
    _is_request_too_large,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import SpanContext

logger = logging.getLogger(__name__)

_MEMO_LIMIT = 4096
"""Encoded attribute pairs kept; past it the memo starts again (one-off values, such as a query
string or a client port, would otherwise fill it)."""
_MEMO_TEXT_LIMIT = 2048
"""Longer text values are encoded each time, so the memo holds a few MB at most."""
_memo: dict[tuple[bytes, str, type, object], bytes] = {}

# OTLP's SpanKind counts from UNSPECIFIED = 0; the SDK's from INTERNAL = 0.
_KINDS = {kind: kind.value + 1 for kind in SpanKind}
_HAS_IS_REMOTE = 0x100  # SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = 0x200  # SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_INT64 = range(-(1 << 63), 1 << 63)
_SMALL = [bytes([n]) for n in range(0x80)]
_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """Return the serialised ``ExportTraceServiceRequest`` of ``spans``.

    Spans are grouped by resource, then by instrumentation scope, as the official encoder does.
    A process has one resource, shared by its spans: they are grouped by identity first, since
    a resource's own hash serialises its attributes to JSON on every call.
    """
    by_identity: dict[int, tuple[Resource, dict[InstrumentationScope | None, list[bytes]]]] = {}
    for span in spans:
        entry = by_identity.get(id(span.resource))
        if entry is None:
            entry = by_identity[id(span.resource)] = (span.resource, {})
        entry[1].setdefault(span.instrumentation_scope or None, []).append(_span(span))
    grouped: dict[Resource, dict[InstrumentationScope | None, list[bytes]]] = {}
    for resource, scopes in by_identity.values():
        merged = grouped.setdefault(resource, {})
        for scope, encoded in scopes.items():
            merged.setdefault(scope, []).extend(encoded)
    parts = []
    for resource, scopes in grouped.items():
        body = [_field(b"\x0a", _attributes(b"\x0a", resource.attributes))]
        for scope, encoded in scopes.items():
            scope_spans = [_field(b"\x0a", _scope(scope))]
            scope_spans += [_field(b"\x12", span_bytes) for span_bytes in encoded]
            if scope is not None and scope.schema_url:
                scope_spans.append(_string(b"\x1a", scope.schema_url))
            body.append(_field(b"\x12", b"".join(scope_spans)))
        if resource.schema_url:
            body.append(_string(b"\x1a", resource.schema_url))
        parts.append(_field(b"\x0a", b"".join(body)))
    return b"".join(parts)


def _span(span: ReadableSpan) -> bytes:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    parts = [
        b"\x0a\x10", context.trace_id.to_bytes(16, "big"),
        b"\x12\x08", context.span_id.to_bytes(8, "big"),
    ]  # fmt: skip
    if context.trace_state:
        parts.append(_string(b"\x1a", ",".join(f"{k}={v}" for k, v in context.trace_state.items())))
    parent = span.parent
    if parent:
        parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_string(b"\x2a", span.name))
    parts += (b"\x30", _SMALL[_KINDS[span.kind]])
    if span.start_time:
        parts += (b"\x39", _FIXED64(span.start_time))
    if span.end_time:
        parts += (b"\x41", _FIXED64(span.end_time))
    parts.append(_attributes(b"\x4a", span.attributes))
    if span.dropped_attributes:
        parts += (b"\x50", _varint(span.dropped_attributes))
    for event in span.events:
        event_body = [b"\x09", _FIXED64(event.timestamp)]
        if event.name:
            event_body.append(_string(b"\x12", event.name))
        event_body.append(_attributes(b"\x1a", event.attributes))
        if event.dropped_attributes:
            event_body += (b"\x20", _varint(event.dropped_attributes))
        parts.append(_field(b"\x5a", b"".join(event_body)))
    if span.dropped_events:
        parts += (b"\x60", _varint(span.dropped_events))
    parts += [_field(b"\x6a", _link(link)) for link in span.links]
    if span.dropped_links:
        parts += (b"\x70", _varint(span.dropped_links))
    status = span.status
    if status is not None:
        status_body = b""
        if status.description:
            status_body = _string(b"\x12", status.description)
        if status.status_code.value:
            status_body += b"\x18" + _varint(status.status_code.value)
        parts.append(_field(b"\x7a", status_body))
    parts += (b"\x85\x01", _FIXED32(_flags(parent)))
    return b"".join(parts)


def _link(link: Link) -> bytes:
    parts = [
        b"\x0a\x10", link.context.trace_id.to_bytes(16, "big"),
        b"\x12\x08", link.context.span_id.to_bytes(8, "big"),
        _attributes(b"\x22", link.attributes),
    ]  # fmt: skip
    if link.dropped_attributes:
        parts += (b"\x28", _varint(link.dropped_attributes))
    parts += (b"\x35", _FIXED32(_flags(link.context)))
    return b"".join(parts)


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    parts = []
    if scope.name:
        parts.append(_string(b"\x0a", scope.name))
    if scope.version:
        parts.append(_string(b"\x12", scope.version))
    parts.append(_attributes(b"\x1a", scope.attributes))
    return b"".join(parts)


def _flags(parent: SpanContext | None) -> int:
    return (
        _HAS_IS_REMOTE | _IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE
    )


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """Return each attribute as a ``KeyValue`` field ``tag``; one that cannot be encoded is
    left out and logged, as the official encoder does."""
    if not attributes:
        return b""
    parts = []
    for key, value in attributes.items():
        # The value's type is part of the key: True == 1 == 1.0, but each encodes differently.
        memo_key = (
            (tag, key, type(value), value)
            if isinstance(value, int | float)
            or (isinstance(value, str) and len(value) <= _MEMO_TEXT_LIMIT)
            else None
        )
        encoded = _memo.get(memo_key) if memo_key is not None else None
        if encoded is None:
            try:
                encoded = _field(tag, _key_value(key, value))
            except (TypeError, ValueError, UnicodeEncodeError) as error:
                logger.error("attribute %s left out of the export: %s", key, error)
                continue
            if memo_key is not None:
                if len(_memo) >= _MEMO_LIMIT:
                    _memo.clear()
                _memo[memo_key] = encoded
        parts.append(encoded)
    return b"".join(parts)


def _key_value(key: str, value: Any) -> bytes:
    return _string(b"\x0a", key) + _field(b"\x12", _any_value(value))


def _any_value(value: Any) -> bytes:
    """Return the body of an ``AnyValue`` holding ``value`` (the official encoder's choices)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _string(b"\x0a", value)
    if isinstance(value, int):
        if value not in _INT64:
            raise ValueError(f"{value} does not fit an int64")
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _any_value(v)) for v in value))
    if isinstance(value, Mapping):
        pairs = b"".join(_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items())
        return _field(b"\x32", pairs)
    raise TypeError(f"invalid type {type(value).__name__} of value {value!r}")


def _string(tag: bytes, text: str) -> bytes:
    return _field(tag, text.encode())


def _field(tag: bytes, payload: bytes) -> bytes:
    size = len(payload)
    return tag + (_SMALL[size] if size < 0x80 else _varint(size)) + payload


def _varint(number: int) -> bytes:
    if number < 0:
        number += 1 << 64
    if number < 0x80:
        return _SMALL[number]
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


class OTLPSpanExporter(_official.OTLPSpanExporter):
    """The official OTLP/HTTP span exporter, encoding with :func:`encode_spans`.

    Everything else is the official exporter's: the endpoint, headers, compression, timeout and
    retries from the ``OTEL_EXPORTER_OTLP_*`` variables, the request size limit and its own
    metrics. Its ``export`` is repeated here with one line changed (the encoder); it reads the
    exporter's private fields, so the tests send a batch through it to a real OTLP receiver on
    every version the lock file pins.
    """

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Encode ``spans`` and send them, as the official ``export`` does."""
        if self._shutdown:
            return super().export(spans)  # logs and fails as the official one does
        with self._metrics.export_operation(len(spans)) as result:
            try:
                data = encode_spans(spans)
            except Exception as error:  # the official exporter's contract: log, fail the batch
                logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            if _is_request_too_large(data, self._max_request_size):
                logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size "
                    "%d bytes.", len(data), self._max_request_size,
                )  # fmt: skip
                result.error = RequestPayloadTooLargeError(
                    f"Serialized span request size {len(data)} bytes exceeds max_request_size "
                    f"{self._max_request_size} bytes."
                )
                return SpanExportResult.FAILURE
            sent = self._client.export(data)
            if not sent.success:
                result.error = sent.error
                if sent.status_code is not None:
                    result.error_attrs = {HTTP_RESPONSE_STATUS_CODE: sent.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
