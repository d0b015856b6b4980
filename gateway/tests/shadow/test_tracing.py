"""A comparison is a root span of its own trace, linked to the user's trace, never part of it."""

import time
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from strangler_gateway.shadow import ComparatorSettings, Compare, ShadowTarget
from strangler_testing.shadow import JsonUpstream, running_comparator

from .conftest import USER_SPAN_ID, USER_TRACE_ID, PostMirror

RESULTS = {"query": "q", "k": 2, "results": [{"id": 1}, {"id": 2}]}


def _finished(spans: InMemorySpanExporter, name: str, timeout: float = 10.0) -> ReadableSpan:
    deadline = time.monotonic() + timeout
    while True:
        found = [span for span in spans.get_finished_spans() if span.name == name]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no span {name!r} within {timeout:g} s"
        time.sleep(0.02)


def test_comparison_span_links_to_the_user_trace(
    settings: ComparatorSettings,
    mirror: PostMirror,
    tracer_provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    with JsonUpstream(RESULTS) as legacy, JsonUpstream({**RESULTS, "results": [{"id": 1}]}) as new:
        target = ShadowTarget("search", (legacy.address,), (new.address,), rule=Compare.SEARCH)
        with running_comparator(
            {"search": target}, settings, tracer_provider=tracer_provider
        ) as comparator:
            mirror(comparator.url)
            span = _finished(spans, "shadow.compare search")
            (row,) = comparator.comparisons()
            upstream_traceparent = new.received[0].headers["traceparent"]

    assert span.parent is None and span.kind is SpanKind.INTERNAL
    context = span.get_span_context()
    assert context is not None
    shadow_trace_id = format(context.trace_id, "032x")
    assert shadow_trace_id != USER_TRACE_ID
    (link,) = span.links
    assert format(link.context.trace_id, "032x") == USER_TRACE_ID
    assert format(link.context.span_id, "016x") == USER_SPAN_ID
    assert link.context.is_remote
    attributes = dict(span.attributes or {})
    assert attributes["migration.route"] == "search"
    assert attributes["shadow.outcome"] == "diff"
    assert attributes["shadow.overlap"] == 0.5
    # The user's trace gains no span from the comparator; the comparison's trace is recorded.
    user_trace = int(USER_TRACE_ID, 16)
    recorded = [s.context.trace_id for s in spans.get_finished_spans() if s.context]
    assert recorded and user_trace not in recorded
    assert row["shadow_trace_id"] == shadow_trace_id and row["trace_id"] == USER_TRACE_ID
    assert upstream_traceparent.split("-")[1] == shadow_trace_id


def _matching_comparison(
    settings: ComparatorSettings,
    mirror: PostMirror,
    tracer_provider: TracerProvider,
    spans: InMemorySpanExporter,
    traceparent: str,
) -> tuple[ReadableSpan, dict[str, Any]]:
    """Mirror one request with ``traceparent`` to sides that agree; its span and its row."""
    with JsonUpstream(RESULTS) as legacy, JsonUpstream(RESULTS) as new:
        target = ShadowTarget("search", (legacy.address,), (new.address,))
        with running_comparator(
            {"search": target}, settings, tracer_provider=tracer_provider
        ) as comparator:
            mirror(comparator.url, extra={"traceparent": traceparent})
            span = _finished(spans, "shadow.compare search")
            (row,) = comparator.comparisons()
    return span, row


def test_a_request_without_traceparent_gets_an_unlinked_comparison(
    settings: ComparatorSettings,
    mirror: PostMirror,
    tracer_provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    span, row = _matching_comparison(
        settings, mirror, tracer_provider, spans, "00-not-a-valid-header-01"
    )
    assert not span.links
    assert dict(span.attributes or {})["shadow.outcome"] == "match"
    assert row["trace_id"] == ""


def test_a_user_trace_the_gateway_did_not_sample_is_linked_but_not_offered_as_a_trace(
    settings: ComparatorSettings,
    mirror: PostMirror,
    tracer_provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    unsampled = f"00-{USER_TRACE_ID}-{USER_SPAN_ID}-00"
    span, row = _matching_comparison(settings, mirror, tracer_provider, spans, unsampled)
    (link,) = span.links
    assert format(link.context.trace_id, "032x") == USER_TRACE_ID
    # No service recorded the user's request: the comparison's own trace is the one to open.
    assert row["trace_id"] == "" and row["shadow_trace_id"] != ""
