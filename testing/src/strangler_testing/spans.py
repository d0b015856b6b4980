"""Capture spans in memory, as opentelemetry-python's own tests do (its ``TestBase``).

One set-up for every package: a TracerProvider whose spans go, synchronously, to an
InMemorySpanExporter, so a test reads them the moment the traced work returns. And a probe of
what a gunicorn worker's ``post_fork`` hook instruments, in an interpreter of its own.
"""

import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["CapturedSpans", "captured_spans", "instrumented_after_fork"]


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


_POST_FORK_PROBE = """
import importlib, runpy, sys
config, module, name = sys.argv[1:]
runpy.run_path(config)["post_fork"](None, None)
print(getattr(importlib.import_module(module), name)().is_instrumented_by_opentelemetry)
"""


def instrumented_after_fork(config: Path, instrumentor: str, env: Mapping[str, str]) -> bool:
    """Run a gunicorn config's ``post_fork`` hook in a fresh interpreter with ``env``; return
    whether the instrumentor named ``module:Class`` is in place afterwards."""
    module, name = instrumentor.split(":")
    probe = subprocess.run(
        [sys.executable, "-c", _POST_FORK_PROBE, str(config), module, name],
        env=dict(env), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return probe.stdout.strip().splitlines()[-1] == "True"
