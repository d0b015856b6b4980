"""Carrying an event's trace from its intake, through the outbox, to its delivery.

The intake stores the W3C context of its request (``traceparent``, ``tracestate``, ``baggage``)
with the event. The relay restores it and delivers under a CONSUMER span whose parent is the
intake's span, so the call to core shows up in the sender's trace however late it happens; the
span also links to the intake, as the messaging conventions do for a consumer. The restored
baggage (the gateway's ``migration.*`` decision) becomes the consumer span's attributes and
travels on to core with the gRPC call.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Link, SpanKind, Tracer

from webhooks.outbox import ClaimedEvent

DESTINATION = "webhooks.outbox"
SPAN_NAME = f"process {DESTINATION}"
ATTEMPT = "webhooks.delivery.attempt"


def current_trace_context() -> dict[str, str]:
    """Return the current span's context and baggage as W3C headers, to store with an event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def delivery_span(tracer: Tracer, claimed: ClaimedEvent) -> Iterator[trace.Span]:
    """Run the block in a CONSUMER span continuing, and linking to, the event's intake."""
    intake = propagate.extract(dict(claimed.trace_context))
    intake_span = trace.get_current_span(intake).get_span_context()
    links = [Link(intake_span)] if intake_span.is_valid else []
    # Attached first, so the baggage is in the current context when the gRPC call injects it.
    token = context.attach(intake)
    try:
        with tracer.start_as_current_span(
            SPAN_NAME,
            context=intake,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=_attributes(claimed),
        ) as span:
            yield span
    finally:
        context.detach(token)


def _attributes(claimed: ClaimedEvent) -> Mapping[str, str | int]:
    event = claimed.event
    return {
        "messaging.system": "sqlite_outbox",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": DESTINATION,
        "messaging.message.id": event.event_id,
        ATTEMPT: claimed.attempt,
        "webhooks.event.source": event.source,
        "webhooks.event.type": event.type,
    }
