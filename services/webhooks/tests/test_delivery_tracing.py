"""The delivery's CONSUMER span continues, and links to, the intake's trace.

The app is instrumented with the official Flask instrumentation, as gunicorn's workers instrument
it, and the provider has the project's baggage processor; spans go to memory. That core's gRPC
call is a child of this span is checked where the gRPC instrumentation is set up for real, under
gunicorn (test_gunicorn.py): the instrumentation only ever uses the global tracer provider.
"""

import json
from collections.abc import Iterator

import grpc
import pytest
from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from strangler_shared import MigrationBaggageSpanProcessor
from strangler_testing import captured_spans
from strangler_testing.webhooks import (
    ManualClock,
    RelayFactory,
    RunningCore,
    StripeSender,
    stripe_event,
)
from webhooks.tracing import ATTEMPT, SPAN_NAME

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
BAGGAGE = "migration.route=stripe-webhooks,migration.bucket=7"


@pytest.fixture
def exporter() -> Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    with captured_spans(processors=[MigrationBaggageSpanProcessor()]) as spans:
        yield spans.exporter, spans.provider


@pytest.fixture
def traced_app(
    app: Flask, exporter: tuple[InMemorySpanExporter, TracerProvider]
) -> Iterator[Flask]:
    FlaskInstrumentor.instrument_app(app, tracer_provider=exporter[1])
    yield app
    FlaskInstrumentor.uninstrument_app(app)


def _post_with_context(app: Flask, sender: StripeSender) -> str:
    body = stripe_event()
    headers = {
        "Stripe-Signature": sender.signature(body),
        "traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01",
        "baggage": BAGGAGE,
    }
    response = app.test_client().post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    event_id: str = json.loads(body)["id"]
    return event_id


def _one(spans: list[ReadableSpan], kind: SpanKind) -> ReadableSpan:
    [span] = [s for s in spans if s.kind == kind]
    return span


def test_delivery_span_is_a_child_of_the_intake_and_links_to_it(
    traced_app: Flask,
    exporter: tuple[InMemorySpanExporter, TracerProvider],
    make_relay: RelayFactory,
    core: RunningCore,
    sender: StripeSender,
) -> None:
    memory, provider = exporter
    event_id = _post_with_context(traced_app, sender)

    make_relay(core.target, tracer_provider=provider, real_clock=True).deliver_due()

    spans = list(memory.get_finished_spans())
    intake = _one(spans, SpanKind.SERVER).context
    consumer = _one(spans, SpanKind.CONSUMER)
    assert consumer.name == SPAN_NAME
    assert format(intake.trace_id, "032x") == TRACE_ID
    assert consumer.parent is not None
    assert (consumer.parent.trace_id, consumer.parent.span_id) == (intake.trace_id, intake.span_id)
    assert consumer.context.trace_id == intake.trace_id
    [link] = consumer.links
    assert (link.context.trace_id, link.context.span_id) == (intake.trace_id, intake.span_id)
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.message.id"] == event_id
    assert consumer.attributes[ATTEMPT] == 1
    assert consumer.attributes["webhooks.delivery.outcome"] == "applied"
    # The stored baggage is restored: the routing decision is on the delivery's entry span too.
    assert consumer.attributes["migration.route"] == "stripe-webhooks"
    assert consumer.attributes["migration.bucket"] == 7


def test_each_attempt_is_its_own_span_in_the_intake_trace(
    traced_app: Flask,
    exporter: tuple[InMemorySpanExporter, TracerProvider],
    make_relay: RelayFactory,
    core: RunningCore,
    sender: StripeSender,
    clock: ManualClock,
) -> None:
    memory, provider = exporter
    _post_with_context(traced_app, sender)
    relay = make_relay(core.target, tracer_provider=provider)
    # The intake stamped the row by the real clock; the relay's clock starts before that.
    clock.advance(60)

    core.servicer.abort_with = grpc.StatusCode.UNAVAILABLE
    relay.deliver_due()
    core.servicer.abort_with = None
    clock.advance(60)
    relay.deliver_due()

    spans = list(memory.get_finished_spans())
    intake = _one(spans, SpanKind.SERVER).context
    failed, delivered = [s for s in spans if s.kind == SpanKind.CONSUMER]
    assert [(s.attributes or {}).get(ATTEMPT) for s in (failed, delivered)] == [1, 2]
    assert failed.status.status_code == StatusCode.ERROR
    assert "UNAVAILABLE" in (failed.status.description or "")
    assert delivered.status.status_code != StatusCode.ERROR
    for span in (failed, delivered):
        assert span.parent is not None and span.parent.span_id == intake.span_id
