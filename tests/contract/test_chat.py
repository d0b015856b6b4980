"""POST /api/chat: the same JSON and SSE contract in the monolith and in the new service.

The question is 1..2000 characters once stripped; k is an integer in 1..50 (default 4); unknown
fields are refused. With ``Accept: text/event-stream`` the answer comes as SSE events: one
``sources``, one or more ``token``, then ``done`` (or ``error``), each ``data`` one JSON value.
"""

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.stack

SSE = {"Accept": "text/event-stream"}
JSON = {"Accept": "application/json"}


def _chat(api: httpx.Client, **kwargs: object) -> httpx.Response:
    response = api.post("/api/chat", **kwargs)  # type: ignore[arg-type]
    assert response.headers["x-service"] == api.headers["x-expected-service"]
    return response


def _events(response: httpx.Response) -> list[tuple[str, Any]]:
    """Parse an SSE body strictly: every frame is a comment or one event with JSON data."""
    events = []
    for frame in filter(None, response.text.split("\n\n")):
        lines = frame.split("\n")
        if all(line.startswith(":") for line in lines):
            continue
        assert len(lines) == 2, frame
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        events.append((lines[0].removeprefix("event: "), json.loads(lines[1][6:])))
    return events


def test_answer_cites_its_sources(api: httpx.Client) -> None:
    response = _chat(api, json={"question": "How do I get a refund?", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"answer", "sources"}
    assert 1 <= len(body["sources"]) <= 3
    assert all(set(source) == {"id", "slug", "title"} for source in body["sources"])
    assert "[1]" in body["answer"]


def test_question_with_no_match_says_so(api: httpx.Client) -> None:
    body = _chat(api, json={"question": "xylophonequartz"}).json()
    assert body["sources"] == []
    assert body["answer"]


def test_the_stream_is_sources_then_tokens_then_done(api: httpx.Client) -> None:
    question = {"question": "How do I get a refund?", "k": 3}
    plain = _chat(api, json=question).json()
    response = _chat(api, json=question, headers=SSE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert len(names) >= 3 and set(names[1:-1]) == {"token"}
    assert events[0][1] == plain["sources"]
    tokens = [data for name, data in events if name == "token"]
    assert all(set(token) == {"text"} for token in tokens)
    assert "".join(token["text"] for token in tokens) == events[-1][1]["answer"]
    assert events[-1][1] == {"answer": plain["answer"]}


def test_the_stream_of_an_unanswerable_question_still_ends_with_done(api: httpx.Client) -> None:
    events = _events(_chat(api, json={"question": "xylophonequartz"}, headers=SSE))
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "error" not in names
    assert events[0][1] == []
    assert events[-1][1]["answer"]


@pytest.mark.parametrize("accept", [JSON, SSE], ids=["json", "sse"])
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "a" * 2001}, "question"),
        ({"question": 42}, "question"),
        ({"question": None}, "question"),
        ({"question": "refund", "k": 0}, "k"),
        ({"question": "refund", "k": 51}, "k"),
        ({"question": "refund", "k": -3}, "k"),
        ({"question": "refund", "k": "3"}, "k"),
        ({"question": "refund", "k": 2.5}, "k"),
        ({"question": "refund", "mood": "cheerful"}, "mood"),
    ],
)
def test_bad_input_is_a_field_level_422(
    api: httpx.Client, payload: dict[str, object], field: str, accept: dict[str, str]
) -> None:
    response = _chat(api, json=payload, headers=accept)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert field in error["fields"]


def test_the_longest_question_allowed_is_answered(api: httpx.Client) -> None:
    question = ("refund " * 300)[:2000]
    assert _chat(api, json={"question": question, "k": 1}).status_code == 200


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"refund"', b"null"])
def test_body_that_is_not_a_json_object_is_a_400(api: httpx.Client, content: bytes) -> None:
    response = _chat(api, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
