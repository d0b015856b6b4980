"""CORE_CHAT_PROVIDER=openai: the legacy chat streams from a real OpenAI-compatible server.

The server is a local fake on a real socket that speaks the real protocol (chunked SSE, `data:`
chunks, `[DONE]`), so these tests see exactly what crosses the wire and each way it can fail.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from core.knowledge.models import Article
from core.knowledge.providers import OpenAICompatibleProvider, get_provider
from core.knowledge.tests.chat_client import QUESTION, post_chat, sse_events
from core.knowledge.tests.openai_fake import FakeChatCompletions, serving

pytestmark = pytest.mark.django_db


@pytest.fixture
def model() -> Iterator[FakeChatCompletions]:
    with serving(FakeChatCompletions()) as fake:
        yield fake


@pytest.fixture
def openai_settings(settings: Settings, model: FakeChatCompletions) -> Settings:
    settings.CORE_CHAT_PROVIDER = "openai"
    settings.CORE_CHAT_OPENAI_BASE_URL = model.base_url
    settings.CORE_CHAT_OPENAI_MODEL = "test-model"
    settings.CORE_CHAT_OPENAI_API_KEY = "sk-test-key"
    settings.CORE_CHAT_TIMEOUT_SECONDS = 5.0
    return settings


@pytest.fixture
def articles(make_article: Callable[..., Article]) -> list[Article]:
    return [
        make_article(
            slug="card-declined", title="Why was my card declined?", body="Banks decline."
        ),
        make_article(slug="invoices", title="Invoices", body="Every invoice lists the card."),
    ]


def test_the_settings_choose_the_openai_provider(openai_settings: Settings) -> None:
    assert isinstance(get_provider(), OpenAICompatibleProvider)


def test_the_answer_is_the_models_streamed_text_with_the_retrieved_sources(
    client: Client,
    openai_settings: Settings,
    model: FakeChatCompletions,
    articles: list[Article],
) -> None:
    response = post_chat(client)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answer"] == "Declined cards retry. [1]"
    assert [source["slug"] for source in body["sources"]] == ["card-declined", "invoices"]
    [request] = model.requests
    assert (request["model"], request["stream"]) == ("test-model", True)
    prompt = request["messages"][-1]["content"]
    assert "[1] Why was my card declined?" in prompt and "[2] Invoices" in prompt
    assert QUESTION["question"] in prompt
    assert model.authorizations == ["Bearer sk-test-key"]


def test_the_event_stream_relays_each_chunk_as_a_token(
    client: Client,
    openai_settings: Settings,
    model: FakeChatCompletions,
    articles: list[Article],
) -> None:
    events = sse_events(post_chat(client, "text/event-stream"))

    assert [name for name, _ in events] == ["sources"] + ["token"] * 4 + ["done"]
    assert [data["text"] for name, data in events if name == "token"] == model.tokens
    assert events[-1][1] == {"answer": "".join(model.tokens)}


def test_successive_answers_share_one_connection_to_the_model(
    client: Client,
    openai_settings: Settings,
    model: FakeChatCompletions,
    articles: list[Article],
) -> None:
    for _ in range(3):
        assert post_chat(client).status_code == 200

    assert len(model.peers) == 3
    assert len(set(model.peers)) == 1


def test_without_articles_no_model_is_asked(
    client: Client, openai_settings: Settings, model: FakeChatCompletions
) -> None:
    body = post_chat(client).json()

    assert body["sources"] == [] and "nothing" in body["answer"]
    assert model.requests == []


@pytest.mark.parametrize(
    ("behaviour", "detail"),
    [
        ("http_error", "answered 500: The server had an error"),
        ("error_chunk", "reported an error: model overloaded"),
        ("cut", "ended before [DONE]"),
    ],
)
def test_a_failing_model_server_is_a_502_or_an_error_event(
    client: Client,
    openai_settings: Settings,
    model: FakeChatCompletions,
    articles: list[Article],
    behaviour: Any,
    detail: str,
) -> None:
    model.behaviour = behaviour

    response = post_chat(client)
    events = sse_events(post_chat(client, "text/event-stream"))

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "provider_error" and detail in error["message"]
    assert events[0][0] == "sources" and events[-1][0] == "error"
    assert events[-1][1]["code"] == "provider_error" and detail in events[-1][1]["message"]
    assert "done" not in [name for name, _ in events]


def test_a_silent_model_server_is_a_504_or_a_timeout_event(
    client: Client,
    openai_settings: Settings,
    model: FakeChatCompletions,
    articles: list[Article],
) -> None:
    model.behaviour = "stall"
    openai_settings.CORE_CHAT_TIMEOUT_SECONDS = 0.3

    response = post_chat(client)
    events = sse_events(post_chat(client, "text/event-stream"))

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "provider_timeout"
    assert [name for name, _ in events] == ["sources", "token", "error"]
    assert events[-1][1]["code"] == "provider_timeout"


def test_an_unreachable_model_server_is_a_502(
    client: Client, openai_settings: Settings, articles: list[Article]
) -> None:
    openai_settings.CORE_CHAT_OPENAI_BASE_URL = "http://127.0.0.1:9/v1"

    response = post_chat(client)

    assert response.status_code == 502
    assert "could not be reached" in response.json()["error"]["message"]


def test_a_client_leaving_the_stream_drops_the_request_to_the_model(
    client: Client,
    openai_settings: Settings,
    model: FakeChatCompletions,
    articles: list[Article],
) -> None:
    model.behaviour = "stall"
    response = post_chat(client, "text/event-stream")
    stream = iter(response.streaming_content)

    assert next(stream).startswith(b"event: sources")
    assert next(stream).startswith(b"event: token")
    assert not model.client_gone.is_set()
    # What the WSGI server does when its write to a departed client fails.
    response.close()

    assert model.wait_client_gone(5), "core kept the model server's request open"
