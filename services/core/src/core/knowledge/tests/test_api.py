"""GET /api/search and POST /api/chat: the shared contract, validation and the error envelope."""

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import Client

from core.knowledge.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(make_article: Callable[..., Article]) -> list[Article]:
    return [
        make_article(
            slug="card-declined",
            title="Why was my card declined?",
            body="A declined card comes from your bank. Update the card to retry the payment.",
        ),
        make_article(slug="invoices", title="Invoices", body="Every invoice lists the card used."),
        make_article(
            slug="offline", title="Working offline", body="Notes sync when you reconnect."
        ),
    ]


def _chat(client: Client, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/chat", data=raw, content_type="application/json")


def test_search_answers_the_contract_shape(client: Client, articles: list[Article]) -> None:
    response = client.get("/api/search", {"q": "  card declined ", "k": "2"})

    assert response.status_code == 200
    assert response["X-Service"] == "core"
    body = response.json()
    assert (body["query"], body["k"]) == ("card declined", 2)
    assert [r["slug"] for r in body["results"]] == ["card-declined", "invoices"]
    first = body["results"][0]
    assert set(first) == {"id", "slug", "title", "snippet", "score"}
    assert first["id"] == articles[0].pk and first["title"] == "Why was my card declined?"
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert all(len(r["snippet"]) <= 240 for r in body["results"])


def test_search_k_defaults_to_five_and_no_match_is_an_empty_list(
    client: Client, articles: list[Article]
) -> None:
    response = client.get("/api/search", {"q": "zebra"})

    assert response.status_code == 200
    assert response.json() == {"query": "zebra", "k": 5, "results": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "card", "k": "0"}, "k"),
        ({"q": "card", "k": "51"}, "k"),
        ({"q": "card", "k": "two"}, "k"),
        ({"q": "card", "k": "2.5"}, "k"),
    ],
)
def test_search_refuses_invalid_parameters(
    client: Client, params: dict[str, str], field: str
) -> None:
    response = client.get("/api/search", params)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field]
    assert error["message"]


def test_chat_answers_with_cited_sources(client: Client, articles: list[Article]) -> None:
    response = _chat(client, {"question": "Why was my card declined?", "k": 2})

    assert response.status_code == 200
    body = response.json()
    assert [s["slug"] for s in body["sources"]] == ["card-declined", "invoices"]
    assert body["sources"][0] == {
        "id": articles[0].pk,
        "slug": "card-declined",
        "title": "Why was my card declined?",
    }
    assert "[1]" in body["answer"] and "[2]" in body["answer"]
    assert "[3]" not in body["answer"]


def test_chat_without_a_match_says_the_knowledge_base_has_nothing(
    client: Client, articles: list[Article]
) -> None:
    body = _chat(client, {"question": "quantum entanglement"}).json()

    assert body["sources"] == []
    assert "nothing" in body["answer"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "  "}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": 42}, "question"),
        ({"question": "hi", "k": 0}, "k"),
        ({"question": "hi", "k": 51}, "k"),
        ({"question": "hi", "k": "3"}, "k"),
        ({"question": "hi", "k": True}, "k"),
        ({"question": "hi", "stream": True}, "stream"),
    ],
)
def test_chat_refuses_invalid_bodies(client: Client, body: dict[str, Any], field: str) -> None:
    response = _chat(client, body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", '"question"', "null", "{bad"])
def test_chat_refuses_a_body_that_is_not_a_json_object(client: Client, raw: str) -> None:
    response = _chat(client, raw)

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_json", "message": "the request body must be a JSON object"}
    }


def test_the_openapi_document_describes_the_legacy_routes(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]

    assert {
        "/api/search",
        "/api/chat",
        "/api/customers/{customer_id}",
        "/api/articles/{reference}/related",
    } <= set(paths)
    related = paths["/api/articles/{reference}/related"]["get"]
    assert {"200", "404", "422", "502", "503"} <= set(related["responses"])
    unavailable = related["responses"]["503"]["content"]["application/json"]["schema"]
    assert unavailable == {"$ref": "#/components/schemas/ErrorOut"}
    assert {"502", "504"} <= set(paths["/api/chat"]["post"]["responses"])
    assert client.get("/api/docs").status_code == 200


def _streamed(response: HttpResponseBase) -> str:
    assert isinstance(response, StreamingHttpResponse), "the answer was not streamed"
    try:
        return b"".join(cast("Iterator[bytes]", response.streaming_content)).decode()
    finally:
        response.close()


def _sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for frame in filter(None, text.split("\n\n")):
        name_line, data_line = frame.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        events.append((name_line.removeprefix("event: "), json.loads(data_line[6:])))
    return events


def test_chat_streams_the_same_answer_as_events(client: Client, articles: list[Article]) -> None:
    question = {"question": "Why was my card declined?", "k": 2}
    plain = _chat(client, question).json()

    response = client.post(
        "/api/chat",
        data=json.dumps(question),
        content_type="application/json",
        headers={"Accept": "text/event-stream"},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert (response["Cache-Control"], response["X-Accel-Buffering"]) == ("no-cache", "no")
    events = _sse_events(_streamed(response))
    names = [name for name, _ in events]
    assert names == ["sources", "token", "token", "done"]
    assert events[0][1] == plain["sources"]
    assert "".join(data["text"] for name, data in events if name == "token") == plain["answer"]
    assert events[-1][1] == {"answer": plain["answer"]}


def test_chat_stream_without_a_match_still_has_every_event(
    client: Client, articles: list[Article]
) -> None:
    response = client.post(
        "/api/chat",
        data=json.dumps({"question": "quantum entanglement"}),
        content_type="application/json",
        headers={"Accept": "text/event-stream"},
    )

    events = _sse_events(_streamed(response))
    assert [name for name, _ in events] == ["sources", "token", "done"]
    assert events[0][1] == [] and "nothing" in events[-1][1]["answer"]


def test_chat_refuses_bad_input_with_json_even_when_a_stream_is_asked_for(
    client: Client, articles: list[Article]
) -> None:
    response = client.post(
        "/api/chat",
        data=json.dumps({"question": "", "k": 4}),
        content_type="application/json",
        headers={"Accept": "text/event-stream"},
    )

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["question"]
