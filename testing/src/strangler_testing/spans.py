"""Capture spans in memory, as opentelemetry-python's own tests do (its ``TestBase``).

One set-up for every package: a TracerProvider whose spans go, synchronously, to an
InMemorySpanExporter, so a test reads them the moment the traced work returns.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["CapturedSpans", "captured_spans"]


@dataclass(frozen=True)
class CapturedSpans:
    """A tracer provider and the exporter holding every span it finished."""

    provider: TracerProvider
    exporter: InMemorySpanExporter

    def finished(self) -> list[ReadableSpan]:
        """Return the spans finished so far, oldest first."""
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        """Return the finished spans called ``name``."""
        return [span for span in self.finished() if span.name == name]

    def clear(self) -> None:
        """Forget the spans captured so far."""
        self.exporter.clear()


@contextmanager
def captured_spans(
    service_name: str | None = None, *, processors: Iterable[SpanProcessor] = ()
) -> Iterator[CapturedSpans]:
    """Yield a provider exporting to memory; shut it down after the block.

    ``processors`` (the project's own, under test) see each span before the exporter does.
    """
    resource = Resource.create({"service.name": service_name}) if service_name else None
    provider = TracerProvider(resource=resource) if resource else TracerProvider()
    for processor in processors:
        provider.add_span_processor(processor)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield CapturedSpans(provider, exporter)
    finally:
        provider.shutdown()
