"""The OpenAI-compatible provider against a local server speaking the real streaming protocol."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
import uvicorn
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from rag.config import Settings
from rag.outbound import open_outbound_session
from rag.providers import OpenAICompatibleProvider, Passage, ProviderError, ProviderTimeoutError
from rag.providers.extractive import NOTHING_FOUND
from rag.retrieval.index import Article
from rag.streaming.events import ChatEvent
from rag.streaming.pipeline import answer_events
from strangler_testing import captured_spans

pytestmark = pytest.mark.anyio

PASSAGES = [
    Passage(1, Article(1, "reset-password", "Reset your password", "Choose Forgot password.")),
    Passage(2, Article(2, "sso", "Single sign-on", "Log in with your identity provider.")),
]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The session rag's lifespan opens, with its pool and time budgets."""
    async with open_outbound_session(Settings(provider_timeout_seconds=5.0)) as session:
        yield session


def _provider(http: aiohttp.ClientSession, base_url: str) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(http, base_url=base_url, model="tiny", api_key="sk-test")


async def _chunks(provider: OpenAICompatibleProvider, passages: list[Passage]) -> list[str]:
    return [chunk async for chunk in provider.stream_answer("How do I reset it?", passages)]


async def test_streams_the_servers_tokens(http: aiohttp.ClientSession, fake_openai: Any) -> None:
    chunks = await _chunks(_provider(http, fake_openai.base_url), PASSAGES)
    assert chunks == fake_openai.fake.tokens


async def test_successive_answers_reuse_one_connection(
    http: aiohttp.ClientSession, fake_openai: Any
) -> None:
    provider = _provider(http, fake_openai.base_url)
    for _ in range(3):
        assert await _chunks(provider, PASSAGES) == fake_openai.fake.tokens
    assert len(fake_openai.fake.peers) == 3
    assert len(set(fake_openai.fake.peers)) == 1


async def test_a_connection_idle_past_the_keepalive_is_not_reused(fake_openai: Any) -> None:
    # A model server closes an idle connection after its own keep-alive; if rag reused the
    # connection at that moment, the close would cross the request and the call would fail
    # ("Can not write request body", "Server disconnected"). rag drops it first instead.
    async with open_outbound_session(Settings(http_keepalive_seconds=0.2)) as session:
        provider = _provider(session, fake_openai.base_url)
        assert await _chunks(provider, PASSAGES) == fake_openai.fake.tokens
        assert await _chunks(provider, PASSAGES) == fake_openai.fake.tokens
        await anyio.sleep(0.4)
        assert await _chunks(provider, PASSAGES) == fake_openai.fake.tokens
    first, again, after_idle = fake_openai.fake.peers
    assert first == again
    assert after_idle != first


def test_the_keepalive_ends_before_a_uvicorn_model_servers() -> None:
    # vLLM's OpenAI-compatible server, like any uvicorn app by default, closes idle connections
    # after 5 s: rag's pool must let go of them sooner.
    assert Settings().http_keepalive_seconds < uvicorn.Config(app="model:app").timeout_keep_alive


async def test_sends_model_stream_key_and_numbered_articles(
    http: aiohttp.ClientSession, fake_openai: Any
) -> None:
    await _chunks(_provider(http, fake_openai.base_url), PASSAGES)
    [request] = fake_openai.fake.requests
    assert (request["model"], request["stream"]) == ("tiny", True)
    assert fake_openai.fake.authorizations == ["Bearer sk-test"]
    prompt = request["messages"][-1]["content"]
    assert "[1] Reset your password" in prompt and "[2] Single sign-on" in prompt
    assert prompt.endswith("Question: How do I reset it?")


async def test_without_passages_the_server_is_not_asked(
    http: aiohttp.ClientSession, fake_openai: Any
) -> None:
    assert await _chunks(_provider(http, fake_openai.base_url), []) == [NOTHING_FOUND]
    assert fake_openai.fake.requests == []


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("http_error", "answered 500: The server had an error"),
        ("error_chunk", "reported an error: model overloaded"),
        ("cut", r"ended before \[DONE\]"),
    ],
)
async def test_server_failures_raise_provider_errors(
    http: aiohttp.ClientSession, fake_openai: Any, behaviour: str, message: str
) -> None:
    fake_openai.fake.behaviour = behaviour
    with pytest.raises(ProviderError, match=message):
        await _chunks(_provider(http, fake_openai.base_url), PASSAGES)


async def test_an_unreachable_server_is_a_provider_error(
    http: aiohttp.ClientSession, free_port_number: int
) -> None:
    provider = _provider(http, f"http://127.0.0.1:{free_port_number}/v1")
    with pytest.raises(ProviderError, match="could not be reached"):
        await _chunks(provider, PASSAGES)


async def test_a_read_timeout_is_a_provider_timeout(fake_openai: Any) -> None:
    fake_openai.fake.behaviour = "hold"
    async with open_outbound_session(Settings(provider_timeout_seconds=0.2)) as session:
        with pytest.raises(ProviderTimeoutError):
            await _chunks(_provider(session, fake_openai.base_url), PASSAGES)


async def test_a_server_error_becomes_an_error_event(
    http: aiohttp.ClientSession, fake_openai: Any
) -> None:
    fake_openai.fake.behaviour = "http_error"
    events = answer_events(_provider(http, fake_openai.base_url), "q", PASSAGES, timeout=5)
    items = [item async for item in events]
    assert [item.name for item in items if isinstance(item, ChatEvent)] == ["sources", "error"]
    assert items[-1].data["code"] == "provider_error"  # type: ignore[union-attr]
    assert "500" in items[-1].data["message"]  # type: ignore[union-attr]


async def test_a_silent_server_times_out_and_its_request_is_dropped(
    http: aiohttp.ClientSession, fake_openai: Any
) -> None:
    fake_openai.fake.behaviour = "hold"
    events = answer_events(_provider(http, fake_openai.base_url), "q", PASSAGES, timeout=0.3)
    items = [item async for item in events if isinstance(item, ChatEvent)]
    assert [item.name for item in items] == ["sources", "token", "error"]
    assert items[-1].data["code"] == "provider_timeout"
    # Waited for off the event loop, which closes the socket on its next turn.
    assert await anyio.to_thread.run_sync(fake_openai.fake.wait_client_gone, 10)


async def test_a_model_call_is_a_client_span_of_the_answer_with_its_trace_context(
    fake_openai: Any,
) -> None:
    instrumentor = AioHttpClientInstrumentor()
    with captured_spans("rag") as captured:
        instrumentor.instrument(tracer_provider=captured.provider)
        try:
            # The session is made after the instrumentation, as rag's lifespan makes it.
            async with open_outbound_session(Settings()) as session:
                tracer = captured.provider.get_tracer("test")
                with tracer.start_as_current_span("answer") as answer:
                    await _chunks(_provider(session, fake_openai.base_url), PASSAGES)
        finally:
            instrumentor.uninstrument()
    [call] = [span for span in captured.finished() if span.kind is trace.SpanKind.CLIENT]
    assert call.parent is not None
    assert call.parent.span_id == answer.get_span_context().span_id
    assert call.attributes is not None and call.attributes["http.request.method"] == "POST"
    [traceparent] = fake_openai.fake.traceparents
    assert traceparent.split("-")[1] == format(answer.get_span_context().trace_id, "032x")
