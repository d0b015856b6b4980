"""POST /api/chat: the same JSON contract in the monolith and in the new service."""

import httpx
import pytest

pytestmark = pytest.mark.stack


def _chat(api: httpx.Client, **kwargs: object) -> httpx.Response:
    response = api.post("/api/chat", **kwargs)
    assert response.headers["x-service"] == api.headers["x-expected-service"]
    return response


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


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "a" * 2001}, "question"),
        ({"question": "refund", "k": 0}, "k"),
        ({"question": "refund", "k": 51}, "k"),
        ({"question": "refund", "mood": "cheerful"}, "mood"),
    ],
)
def test_bad_input_is_a_field_level_422(api: httpx.Client, payload: dict, field: str) -> None:
    response = _chat(api, json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


def test_body_that_is_not_json_is_a_400(api: httpx.Client) -> None:
    response = _chat(api, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
