"""Send the gateway's spans on to another OTLP/HTTP receiver, so other backends see them too.

The gateway's spans exist only here: the store makes them from the access log. The services'
spans reach every backend through the collector, so without this a backend such as Jaeger would
show traces whose root (the gateway, with its routing decision) is missing. With
``--forward-gateway-spans URL`` each batch the follower stores is also exported to URL.

Only spans made from the log are sent; spans the store receives are never sent on, so no loop
forms when the collector also exports to this store (it stores them again under the same key).
The store keeps every span whatever happens here: a batch the receiver refuses is retried with
backoff, and when the queue is full new batches are dropped with a warning.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from tracestore.models import Attributes, JSONValue, SpanRecord

logger = logging.getLogger(__name__)

QUEUE_BATCHES = 1000
TIMEOUT_SECONDS = 10.0
RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
# OTLP/HTTP: these statuses mean "try again later"; any other refusal is final.
_RETRYABLE = frozenset({429, 502, 503, 504})


class SpanForwarder:
    """Export batches of spans to one OTLP/HTTP endpoint from a thread, retrying with backoff."""

    def __init__(self, endpoint: str, *, queue_batches: int = QUEUE_BATCHES) -> None:
        """Forward to endpoint (the full URL, e.g. http://otel-collector:4318/v1/traces)."""
        self.endpoint = endpoint
        self._queue: queue.Queue[Sequence[SpanRecord]] = queue.Queue(queue_batches)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="span-forwarder", daemon=True)

    def submit(self, spans: Sequence[SpanRecord]) -> None:
        """Queue a batch without waiting; drop it with a warning when the queue is full."""
        if not spans:
            return
        try:
            self._queue.put_nowait(spans)
        except queue.Full:
            logger.warning("dropping %s gateway spans: %s is not keeping up", len(spans), self)

    def start(self) -> None:
        """Start exporting queued batches."""
        self._thread.start()

    def stop(self, timeout: float = TIMEOUT_SECONDS) -> None:
        """Export what is queued (trying each batch once more), then stop."""
        self._stopping.set()
        self._thread.join(timeout)

    def __str__(self) -> str:
        return f"the OTLP receiver at {self.endpoint}"

    def _run(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            try:
                batch = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._deliver(encode_request(batch), len(batch))
            except Exception:
                # One batch that cannot be sent must not end forwarding for every later one.
                traces = ", ".join(sorted({span.trace_id for span in batch})[:3])
                logger.exception("could not forward %s spans (traces %s)", len(batch), traces)

    def _deliver(self, body: bytes, count: int) -> None:
        """Send one batch until it is taken, refused for good, or the forwarder stops."""
        delay = RETRY_INITIAL_SECONDS
        while not self._send(body, count):
            if self._stopping.is_set():
                logger.warning("dropping %s gateway spans at shutdown: %s is down", count, self)
                return
            # Waits on the stop event, not a sleep: stop() ends a backoff of up to
            # RETRY_MAX_SECONDS at once and the batch gets its last try.
            self._stopping.wait(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _send(self, body: bytes, count: int) -> bool:
        """Post one export; return whether it is done with (taken, or refused for good)."""
        request = Request(self.endpoint, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/x-protobuf")
        try:
            with urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
                return True
        except HTTPError as error:
            if error.code in _RETRYABLE:
                logger.info("%s answered %s; retrying %s spans", self, error.code, count)
                return False
            logger.error("%s refused %s spans with %s", self, count, error.code)
            return True
        except (URLError, OSError) as error:
            logger.info("%s is unreachable (%s); retrying %s spans", self, error, count)
            return False


def encode_request(spans: Sequence[SpanRecord]) -> bytes:
    """Encode spans as a protobuf ExportTraceServiceRequest, one ResourceSpans per resource."""
    request = ExportTraceServiceRequest()
    by_resource: dict[str, ResourceSpans] = {}
    for span in spans:
        key = repr(sorted(span.resource_attributes.items()))
        if key not in by_resource:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.attributes.extend(_key_values(span.resource_attributes))
            by_resource[key] = resource_spans
        scope = _scope_spans(by_resource[key], span.scope_name)
        scope.spans.append(_span(span))
    encoded: bytes = request.SerializeToString()
    return encoded


def _scope_spans(resource_spans: ResourceSpans, name: str) -> ScopeSpans:
    for scope_spans in resource_spans.scope_spans:
        if scope_spans.scope.name == name:
            return scope_spans
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = name
    return scope_spans


def _span(record: SpanRecord) -> Span:
    span = Span(
        trace_id=bytes.fromhex(record.trace_id),
        span_id=bytes.fromhex(record.span_id),
        parent_span_id=bytes.fromhex(record.parent_span_id or ""),
        trace_state=record.trace_state,
        name=record.name,
        kind=Span.SpanKind.Value(f"SPAN_KIND_{record.kind}"),
        start_time_unix_nano=record.start_unix_nano,
        end_time_unix_nano=record.end_unix_nano,
        status=Status(
            code=Status.StatusCode.Value(f"STATUS_CODE_{record.status.code}"),
            message=record.status.message,
        ),
    )
    span.attributes.extend(_key_values(record.attributes))
    for event in record.events:
        added = span.events.add(name=event.name, time_unix_nano=event.time_unix_nano)
        added.attributes.extend(_key_values(event.attributes))
    for link in record.links:
        linked = span.links.add(
            trace_id=bytes.fromhex(link.trace_id), span_id=bytes.fromhex(link.span_id)
        )
        linked.attributes.extend(_key_values(link.attributes))
    return span


def _key_values(attributes: Attributes) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any_value(value)) for key, value in attributes.items()]


def _any_value(value: JSONValue) -> AnyValue:
    """Convert a JSON-able attribute value back into an OTLP AnyValue."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        any_value = AnyValue()
        any_value.array_value.values.extend(_any_value(item) for item in value)
        return any_value
    if isinstance(value, dict):
        any_value = AnyValue()
        any_value.kvlist_value.values.extend(_key_values(value))
        return any_value
    return AnyValue(string_value=str(value))
