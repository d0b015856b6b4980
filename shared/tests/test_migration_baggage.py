"""The routing decision in baggage lands on entry spans only, typed, and nothing else does."""

from collections.abc import Iterator

import pytest
from opentelemetry import baggage, context, propagate
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Tracer
from strangler_shared import MigrationBaggageSpanProcessor
from strangler_testing import CapturedSpans, captured_spans

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
GATEWAY_BAGGAGE = (
    "migration.route=search,migration.mode=canary,migration.target=new,"
    "migration.bucket=7,migration.fallback=false"
)
EXPECTED = {
    "migration.route": "search",
    "migration.mode": "canary",
    "migration.target": "new",
    "migration.bucket": 7,
    "migration.fallback": False,
}


@pytest.fixture
def captured() -> Iterator[CapturedSpans]:
    with captured_spans(processors=[MigrationBaggageSpanProcessor()]) as spans:
        yield spans


@pytest.fixture
def exporter(captured: CapturedSpans) -> InMemorySpanExporter:
    return captured.exporter


@pytest.fixture
def tracer(captured: CapturedSpans) -> Tracer:
    return captured.provider.get_tracer("test")


def _incoming(baggage_header: str, traceparent: str | None = TRACEPARENT) -> context.Context:
    """Extract a request's context the way the server instrumentations do."""
    headers = {"baggage": baggage_header}
    if traceparent:
        headers["traceparent"] = traceparent
    return propagate.extract(headers)


def _span(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


def _migration(span: ReadableSpan) -> dict[str, object]:
    return {k: v for k, v in (span.attributes or {}).items() if k.startswith("migration.")}


def test_server_span_with_remote_parent_gets_typed_attributes(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    incoming = _incoming(f"tenant=acme,{GATEWAY_BAGGAGE},user.id=42")

    tracer.start_span("GET /api/search", context=incoming, kind=SpanKind.SERVER).end()

    span = _span(exporter, "GET /api/search")
    attributes = span.attributes or {}
    assert _migration(span) == EXPECTED
    assert type(attributes["migration.bucket"]) is int
    assert attributes["migration.fallback"] is False
    assert "tenant" not in attributes and "user.id" not in attributes


def test_spans_inside_the_process_get_nothing(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    # As the server instrumentations do: attach the extracted context, so the baggage is in the
    # current context of everything the handler starts.
    token = context.attach(_incoming(GATEWAY_BAGGAGE))
    try:
        with tracer.start_as_current_span("entry", kind=SpanKind.SERVER):
            assert baggage.get_all()
            tracer.start_span("handler").end()
            tracer.start_span("GET rag", kind=SpanKind.CLIENT).end()
            # A server span whose parent is local (a framework nesting its own) is no entry.
            tracer.start_span("nested server", kind=SpanKind.SERVER).end()
    finally:
        context.detach(token)

    assert _migration(_span(exporter, "entry")) == EXPECTED
    for name in ("handler", "GET rag", "nested server"):
        assert _migration(_span(exporter, name)) == {}, name


def test_entry_span_from_the_attached_context(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    # The gRPC server instrumentation attaches the extracted context, then starts its span
    # without an explicit parent context.
    token = context.attach(_incoming(GATEWAY_BAGGAGE))
    try:
        tracer.start_span("/strangler.core.v1.CoreService/GetCustomer", kind=SpanKind.SERVER).end()
    finally:
        context.detach(token)

    assert _migration(_span(exporter, "/strangler.core.v1.CoreService/GetCustomer")) == EXPECTED


@pytest.mark.parametrize("kind", [SpanKind.SERVER, SpanKind.CONSUMER])
def test_root_and_consumer_spans_are_entries(
    tracer: Tracer, exporter: InMemorySpanExporter, kind: SpanKind
) -> None:
    tracer.start_span("root", context=_incoming(GATEWAY_BAGGAGE, None), kind=kind).end()

    span = _span(exporter, "root")
    assert span.parent is None
    assert _migration(span) == EXPECTED


def test_values_of_the_wrong_type_are_dropped_and_others_kept(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    incoming = _incoming(
        "migration.route=chat,migration.bucket=seven,migration.fallback=maybe,"
        "migration.probe=abc123"
    )

    tracer.start_span("entry", context=incoming, kind=SpanKind.SERVER).end()

    assert _migration(_span(exporter, "entry")) == {
        "migration.route": "chat",
        "migration.probe": "abc123",
    }


def test_fallback_true_and_no_baggage(tracer: Tracer, exporter: InMemorySpanExporter) -> None:
    with_fallback = _incoming("migration.target=legacy,migration.fallback=TRUE")
    tracer.start_span("fallback", context=with_fallback, kind=SpanKind.SERVER).end()
    tracer.start_span("plain", context=propagate.extract({}), kind=SpanKind.SERVER).end()

    assert _migration(_span(exporter, "fallback")) == {
        "migration.target": "legacy",
        "migration.fallback": True,
    }
    assert _migration(_span(exporter, "plain")) == {}


def test_baggage_set_in_process_reaches_the_entry_span_of_a_local_root(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    # A consumer started from a stored message's context (no remote parent, baggage restored).
    restored = baggage.set_baggage("migration.route", "stripe-webhooks")

    tracer.start_span("deliver", context=restored, kind=SpanKind.CONSUMER).end()

    assert _migration(_span(exporter, "deliver")) == {"migration.route": "stripe-webhooks"}
