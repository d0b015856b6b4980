"""Core's calls to rag and to a model server are spans of the request that made them.

Even when the WSGI server pulls a streamed answer after the view returned (and Django's
instrumentation ended the request's span), the gRPC or httpx call stays a child of the request's
span, and no span is left current in the worker thread afterwards. Isolated from the process-wide
set-up: a fresh TracerProvider with an in-memory exporter is given to the official Django, gRPC
client and httpx instrumentations, which are removed again afterwards.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import grpc
import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from opentelemetry import trace
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.grpc import client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pytest_django.fixtures import Settings
from strangler_contracts.rag.v1 import rag_pb2
from strangler_testing import captured_spans

from core.knowledge.models import Article
from core.knowledge.tests.openai_fake import FakeChatCompletions, serving
from core.knowledge.tests.rag_standin import (
    StandInRag,
    done_event,
    sources_event,
    token_event,
)

pytestmark = pytest.mark.django_db

SSE = "text/event-stream"


def _trace_grpc_channels(monkeypatch: pytest.MonkeyPatch, provider: TracerProvider) -> None:
    """Wrap new channels as GrpcInstrumentorClient does, but with this test's provider.

    The instrumentor takes its provider from each channel's call, not from ``instrument()``: it
    would trace into the process-wide provider, which tests must not set.
    """
    original = grpc.insecure_channel

    def traced(*args: Any, **kwargs: Any) -> grpc.Channel:
        interceptor = client_interceptor(tracer_provider=provider)
        return intercept_channel(original(*args, **kwargs), interceptor)

    monkeypatch.setattr(grpc, "insecure_channel", traced)


@pytest.fixture
def exporter(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    with captured_spans() as spans:
        django, httpx = DjangoInstrumentor(), HTTPXClientInstrumentor()
        django.instrument(tracer_provider=spans.provider)
        httpx.instrument(tracer_provider=spans.provider)
        _trace_grpc_channels(monkeypatch, spans.provider)
        yield spans.exporter
        httpx.uninstrument()
        django.uninstrument()


def _server_and_client(spans: tuple[ReadableSpan, ...]) -> tuple[ReadableSpan, ReadableSpan]:
    [server] = [span for span in spans if span.kind == SpanKind.SERVER]
    [client] = [span for span in spans if span.kind == SpanKind.CLIENT]
    return server, client


def _assert_child(child: ReadableSpan, parent: ReadableSpan) -> None:
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id


def _stream(question: str) -> bytes:
    response = Client().post(
        "/api/chat",
        data=json.dumps({"question": question, "k": 2}),
        content_type="application/json",
        HTTP_ACCEPT=SSE,
    )
    try:
        # Pulled after the view returned, as the WSGI server pulls a streaming body.
        assert isinstance(response, StreamingHttpResponse), "the answer was not streamed"
        return b"".join(cast("Iterator[bytes]", response.streaming_content))
    finally:
        response.close()


def test_the_search_call_to_rag_is_a_child_of_the_request(
    exporter: InMemorySpanExporter, standin_rag: StandInRag, make_article: Callable[..., Article]
) -> None:
    article = make_article()
    standin_rag.results = [rag_pb2.SearchResult(article_id=99, slug="x", title="X", score=1.0)]

    assert Client().get(f"/api/articles/{article.slug}/related").status_code == 200

    server, client = _server_and_client(exporter.get_finished_spans())
    _assert_child(client, server)
    assert (client.attributes or {}).get("rpc.method") == "Search"


def test_a_streamed_answer_from_rag_stays_in_the_requests_trace(
    exporter: InMemorySpanExporter, settings: Settings, standin_rag: StandInRag
) -> None:
    settings.CORE_CHAT_PROVIDER = "rag"
    standin_rag.events = [sources_event((1, "a", "A")), token_event("Yes."), done_event("Yes.")]

    body = _stream("Is it traced?")

    assert b"event: done" in body
    server, client = _server_and_client(exporter.get_finished_spans())
    _assert_child(client, server)
    assert (client.attributes or {}).get("rpc.method") == "Answer"
    assert client.end_time is not None and server.end_time is not None
    assert client.end_time >= server.end_time, "the call lasts as long as the stream"
    assert trace.get_current_span() is trace.INVALID_SPAN, "a span was left current"


def test_a_streamed_answer_from_a_model_server_stays_in_the_requests_trace(
    exporter: InMemorySpanExporter, settings: Settings, make_article: Callable[..., Article]
) -> None:
    make_article(title="Tracing", body="Every request is traced.")
    with serving(FakeChatCompletions()) as model:
        settings.CORE_CHAT_PROVIDER = "openai"
        settings.CORE_CHAT_OPENAI_BASE_URL = model.base_url

        body = _stream("Is every request traced?")

    assert b"event: done" in body
    server, client = _server_and_client(exporter.get_finished_spans())
    _assert_child(client, server)
    assert trace.get_current_span() is trace.INVALID_SPAN, "a span was left current"
