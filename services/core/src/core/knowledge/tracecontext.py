"""Advance a generator under the trace context of the request that created it.

A streamed answer is produced after the view has returned: Django's instrumentation has already
ended the request's span and detached its context by the time the WSGI server pulls the body. A
provider's HTTP or gRPC call started then would begin a trace of its own. So every step of an
answer's generator runs under the context captured when the answer was opened, attached for that
step only: the gRPC instrumentation, which keeps its span current across a stream's yields, can
then never leave a finished request's context behind in a worker thread.
"""

from collections.abc import Generator
from typing import TypeVar

from opentelemetry import context as otel_context

T = TypeVar("T")


def in_current_context(steps: Generator[T, None, None]) -> Generator[T, None, None]:
    """Return ``steps``, advanced and closed under the trace context that is current now."""
    return _advance_in(otel_context.get_current(), steps)


def _advance_in(
    captured: otel_context.Context, steps: Generator[T, None, None]
) -> Generator[T, None, None]:
    try:
        while True:
            token = otel_context.attach(captured)
            try:
                item = next(steps)
            except StopIteration:
                return
            finally:
                otel_context.detach(token)
            yield item
    finally:
        token = otel_context.attach(captured)
        try:
            steps.close()
        finally:
            otel_context.detach(token)
