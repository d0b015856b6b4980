"""The span that covers one answer stream, from the request to its last event.

The framework's server span of a streaming request cannot be relied on to cover the stream (the
response body is sent after the handler returns), so each stream gets its own span. Its parent is
the context the handler captured while the request's span was current, so it is that span's
child; it starts when the stream starts and ends in the stream's ``finally``, whether the stream
finished, failed or was cancelled by a leaving client (a stream that never started has no span
to leak). It records a ``first_token`` event, the outcome, and the token count.
"""

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from rag.streaming.events import ChatEvent, StreamItem

SPAN_NAME = "rag.answer.stream"

StreamFactory = Callable[[trace.Span], AsyncGenerator[StreamItem, None]]


def stream_attributes(transport: str, provider: str, k: int) -> dict[str, str | int]:
    """Describe a stream: how it is sent, who writes the answer, from how many articles."""
    return {"rag.transport": transport, "rag.provider": provider, "rag.k": k}


async def traced_stream(
    tracer: trace.Tracer,
    parent: otel_context.Context,
    attributes: dict[str, str | int],
    produce: StreamFactory,
) -> AsyncGenerator[StreamItem, None]:
    """Run ``produce(span)`` under a new stream span, child of ``parent``; always end it."""
    span = tracer.start_span(SPAN_NAME, context=parent, attributes=attributes)
    outcome, tokens = "cancelled", 0
    try:
        async with aclosing(produce(span)) as items:
            async for item in items:
                if isinstance(item, ChatEvent):
                    tokens += _record(span, item, tokens)
                    outcome = _outcome(item) or outcome
                yield item
    finally:
        span.set_attribute("rag.stream.outcome", outcome)
        span.set_attribute("rag.stream.tokens", tokens)
        span.end()


def _record(span: trace.Span, event: ChatEvent, tokens_so_far: int) -> int:
    if event.name == "sources":
        span.set_attribute("rag.sources", len(event.data))
    elif event.name == "token":
        if tokens_so_far == 0:
            span.add_event("first_token")
        return 1
    elif event.name == "error":
        span.set_attribute("rag.error.code", event.data["code"])
        span.set_status(Status(StatusCode.ERROR, event.data["message"]))
    return 0


def _outcome(event: ChatEvent) -> str | None:
    return {"done": "done", "error": "error"}.get(event.name)
