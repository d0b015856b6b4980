"""Helpers for tests that look at real traces: directed edges, and the waterfall in Chromium.

The trace store's own tests and the cross-service suites (tests/e2e) read traces the same way:
through the store's JSON API, as edges between services (the OpenTelemetry demo's trace tests),
and as the browser draws them (headless Chromium, Debian's package, and a screenshot).
"""

from strangler_testing.tracestore.chromium import (
    MIN_RUN_PIXELS,
    WINDOW,
    bands,
    chromium_or_skip,
    dump_dom,
    find_chromium,
    read_png,
    screenshot,
)
from strangler_testing.tracestore.edges import Edge, Observed, Span, TraceReader, edges, protocol

__all__ = [
    "MIN_RUN_PIXELS",
    "WINDOW",
    "Edge",
    "Observed",
    "Span",
    "TraceReader",
    "bands",
    "chromium_or_skip",
    "dump_dom",
    "edges",
    "find_chromium",
    "protocol",
    "read_png",
    "screenshot",
]
