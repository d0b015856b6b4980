"""CORE_CHAT_PROVIDER=rag: the legacy chat relays RagService.Answer, streamed over real gRPC."""

from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from core.knowledge.models import Article
from core.knowledge.providers import RagProvider, get_provider
from core.knowledge.tests.chat_client import QUESTION, post_chat, sse_events
from core.knowledge.tests.rag_standin import (
    StandInRag,
    done_event,
    error_event,
    sources_event,
    token_event,
)

pytestmark = pytest.mark.django_db

ANSWER = [
    sources_event((11, "card-declined", "Why was my card declined?"), (12, "invoices", "Invoices")),
    token_event("Banks decline cards. [1]"),
    token_event(" Invoices list the card. [2]"),
    done_event("Banks decline cards. [1] Invoices list the card. [2]"),
]


@pytest.fixture
def rag(settings: Settings, standin_rag: StandInRag) -> StandInRag:
    settings.CORE_CHAT_PROVIDER = "rag"
    standin_rag.events = list(ANSWER)
    return standin_rag


def test_the_settings_choose_delegation(rag: StandInRag) -> None:
    assert isinstance(get_provider(), RagProvider)


def test_the_json_answer_is_rags(
    client: Client, rag: StandInRag, make_article: Callable[..., Article]
) -> None:
    make_article(title="A local article rag does not cite", body="Banks decline cards.")

    response = post_chat(client)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "answer": "Banks decline cards. [1] Invoices list the card. [2]",
        "sources": [
            {"id": 11, "slug": "card-declined", "title": "Why was my card declined?"},
            {"id": 12, "slug": "invoices", "title": "Invoices"},
        ],
    }
    [request] = rag.answers
    assert (request.question, request.k) == (QUESTION["question"], 2)
    assert rag.wait_endings(1) == ["completed"], "core read the call to its end"


def test_the_stream_relays_rags_events_in_cores_format(client: Client, rag: StandInRag) -> None:
    response = post_chat(client, "text/event-stream")

    assert response["Content-Type"] == "text/event-stream"
    events = sse_events(response)
    assert events == [
        (
            "sources",
            [
                {"id": 11, "slug": "card-declined", "title": "Why was my card declined?"},
                {"id": 12, "slug": "invoices", "title": "Invoices"},
            ],
        ),
        ("token", {"text": "Banks decline cards. [1]"}),
        ("token", {"text": " Invoices list the card. [2]"}),
        ("done", {"answer": "Banks decline cards. [1] Invoices list the card. [2]"}),
    ]
    assert rag.wait_endings(1) == ["completed"]


@pytest.mark.parametrize(
    ("code", "status"),
    [("provider_error", 502), ("provider_timeout", 504), ("internal_error", 500)],
)
def test_rags_error_event_keeps_its_code(
    client: Client, rag: StandInRag, code: str, status: int
) -> None:
    rag.events = [*ANSWER[:2], error_event(code, "the model went away")]

    response = post_chat(client)
    events = sse_events(post_chat(client, "text/event-stream"))

    assert response.status_code == status
    assert response.json()["error"] == {"code": code, "message": "the model went away"}
    assert [name for name, _ in events] == ["sources", "token", "error"]
    assert events[-1][1] == {"code": code, "message": "the model went away"}
    assert rag.wait_endings(2) == ["completed", "completed"]


def test_a_stream_that_ends_without_done_is_a_provider_error(
    client: Client, rag: StandInRag
) -> None:
    rag.events = ANSWER[:2]

    events = sse_events(post_chat(client, "text/event-stream"))

    assert events[-1] == (
        "error",
        {"code": "provider_error", "message": "rag's answer ended without done"},
    )


def test_an_unreachable_rag_is_a_502_or_a_lone_error_event(
    client: Client, settings: Settings, service_token: str
) -> None:
    settings.CORE_CHAT_PROVIDER = "rag"

    response = post_chat(client)
    events = sse_events(post_chat(client, "text/event-stream"))

    expected = {"code": "provider_error", "message": "the rag service is unreachable"}
    assert (response.status_code, response.json()["error"]) == (502, expected)
    assert events == [("error", expected)]


def test_a_rag_answer_past_its_deadline_is_a_provider_timeout(
    client: Client, settings: Settings, rag: StandInRag
) -> None:
    settings.CORE_RAG_ANSWER_DEADLINE_SECONDS = 0.3
    rag.events, rag.hold = ANSWER[:2], True

    response = post_chat(client)
    events = sse_events(post_chat(client, "text/event-stream"))

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "provider_timeout"
    assert [name for name, _ in events] == ["sources", "token", "error"]
    assert events[-1][1]["code"] == "provider_timeout"
    assert rag.wait_endings(2) == ["deadline", "deadline"]


def test_a_client_leaving_the_stream_cancels_the_call_to_rag(
    client: Client, rag: StandInRag
) -> None:
    rag.events, rag.hold = ANSWER[:2], True
    response = post_chat(client, "text/event-stream")
    stream = iter(response.streaming_content)

    assert next(stream).startswith(b"event: sources")
    assert next(stream).startswith(b"event: token")
    assert not rag.cancelled.is_set()
    # What the WSGI server does when its write to a departed client fails.
    response.close()

    assert rag.cancelled.wait(5), "rag was never told the client left"
    assert rag.endings == ["cancelled"]
