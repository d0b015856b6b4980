"""Database queries made while serving a request produce spans under the request's span.

Isolated from the process-wide set-up: a fresh TracerProvider with an in-memory exporter is given
to the official Django and sqlite3 instrumentations, which are removed again afterwards.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pytest_django.fixtures import Settings
from strangler_testing import captured_spans

from core.customers.models import Customer


@pytest.fixture
def exporter(settings: Settings) -> Iterator[InMemorySpanExporter]:
    with captured_spans() as spans:
        sqlite = SQLite3Instrumentor()
        django = DjangoInstrumentor()
        sqlite.instrument(tracer_provider=spans.provider)
        django.instrument(tracer_provider=spans.provider)
        yield spans.exporter
        django.uninstrument()
        sqlite.uninstrument()


def _in_fresh_thread(call: Callable[[], int]) -> int:
    # Django keeps one connection per thread: a new thread opens its connection through the
    # instrumented sqlite3.connect, as a worker does after tracing is set up post-fork.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_request_yields_a_server_span_with_db_spans_inside(
    exporter: InMemorySpanExporter, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer()

    status = _in_fresh_thread(lambda: Client().get(f"/api/customers/{customer.pk}").status_code)

    assert status == 200
    spans: tuple[ReadableSpan, ...] = exporter.get_finished_spans()
    [server] = [span for span in spans if span.kind == SpanKind.SERVER]
    queries = [span for span in spans if (span.attributes or {}).get("db.system") == "sqlite"]
    assert queries, [span.name for span in spans]
    assert all(span.context.trace_id == server.context.trace_id for span in queries)
    assert any(span.parent and span.parent.span_id == server.context.span_id for span in queries)
    statements = [str((span.attributes or {}).get("db.statement")) for span in queries]
    assert any("customers_customer" in statement for statement in statements)
