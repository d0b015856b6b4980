"""The offline providers of the legacy chat: extractive (the default) and simulated."""

import json
import time
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from core.knowledge.models import Article
from core.knowledge.providers import (
    ExtractiveProvider,
    ProviderTimeoutError,
    SimulatedProvider,
    get_provider,
)
from core.knowledge.providers.simulated import tokens_of
from core.knowledge.services import answer_question

pytestmark = pytest.mark.django_db

QUESTION = "Why was my card declined?"


@pytest.fixture
def articles(make_article: Callable[..., Article]) -> list[Article]:
    return [
        make_article(title="Card declined", body="Banks decline cards. Update the card to retry."),
        make_article(title="Invoices", body="Every invoice lists the card used."),
    ]


@pytest.mark.parametrize(
    ("name", "kind"), [("extractive", ExtractiveProvider), ("simulated", SimulatedProvider)]
)
def test_the_setting_chooses_the_provider(settings: Settings, name: str, kind: type) -> None:
    settings.CORE_CHAT_PROVIDER = name

    assert isinstance(get_provider(), kind)


def test_extractive_streams_the_monoliths_answer_sentence_by_sentence(
    articles: list[Article],
) -> None:
    stream = ExtractiveProvider().answer(QUESTION, 4)

    chunks = list(stream.chunks)

    expected = answer_question(QUESTION, 4)
    assert [source.id for source in stream.sources] == [a.pk for a in expected.sources]
    assert chunks == [expected.sentences[0], *(f" {s}" for s in expected.sentences[1:])]
    assert "".join(chunks) == expected.text


def test_simulated_yields_the_extractive_answer_word_by_word(articles: list[Article]) -> None:
    provider = SimulatedProvider(0.0, 10_000.0, timeout_seconds=5.0)

    chunks = list(provider.answer(QUESTION, 4).chunks)

    assert chunks == tokens_of(answer_question(QUESTION, 4).text)
    assert len(chunks) > 5


def test_simulated_blocks_for_its_first_token_delay(articles: list[Article]) -> None:
    chunks = SimulatedProvider(0.3, 10_000.0, timeout_seconds=5.0).answer(QUESTION, 4).chunks

    started = time.monotonic()
    next(chunks)

    # A lower bound only: sleeping never returns early, however busy the machine is.
    assert time.monotonic() - started >= 0.3


def test_simulated_times_out_like_a_silent_model(articles: list[Article]) -> None:
    chunks = SimulatedProvider(60.0, 20.0, timeout_seconds=0.1).answer(QUESTION, 4).chunks

    with pytest.raises(ProviderTimeoutError, match=r"nothing for 0\.1 s"):
        next(chunks)


def test_the_chat_answers_through_the_simulated_provider(
    client: Client, settings: Settings, articles: list[Article]
) -> None:
    settings.CORE_CHAT_PROVIDER = "simulated"
    settings.CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS = 0.0
    settings.CORE_CHAT_SIMULATED_TOKENS_PER_SECOND = 10_000.0
    body = {"question": QUESTION, "k": 2}

    response = client.post("/api/chat", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 200
    assert response.json()["answer"] == answer_question(QUESTION, 2).text


def test_a_simulated_timeout_is_a_504(
    client: Client, settings: Settings, articles: list[Article]
) -> None:
    settings.CORE_CHAT_PROVIDER = "simulated"
    settings.CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS = 60.0
    settings.CORE_CHAT_TIMEOUT_SECONDS = 0.1
    body = {"question": QUESTION}

    response = client.post("/api/chat", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 504
    assert response.json()["error"] == {
        "code": "provider_timeout",
        "message": "the provider sent nothing for 0.1 s",
    }
