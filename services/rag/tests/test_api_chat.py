"""``POST /api/chat``: extractive answers with citations, and strict input checking."""

import json
import re
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from rag.providers.extractive import NOTHING_FOUND

pytestmark = pytest.mark.anyio


async def test_answer_cites_its_sources(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json={"question": "My card was declined", "k": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["sources"][0] == {
        "id": 2,
        "slug": "payment-failed",
        "title": body["sources"][0]["title"],
    }
    assert "declined" in body["answer"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == set(range(1, len(body["sources"]) + 1))
    assert re.search(r"\. \[1\]", body["answer"])


async def test_k_defaults_to_4(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json={"question": "page plan password card"})
    assert response.status_code == 200
    assert len(response.json()["sources"]) == 4


async def test_no_match_says_so_with_no_sources(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json={"question": "kubernetes"})
    assert response.json() == {"answer": NOTHING_FOUND, "sources": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "question"),
        ({"question": ""}, "question"),
        ({"question": "  \n "}, "question"),
        ({"question": "q" * 2001}, "question"),
        ({"question": 42}, "question"),
        ({"question": None}, "question"),
        ({"question": "refund", "k": 0}, "k"),
        ({"question": "refund", "k": 51}, "k"),
        ({"question": "refund", "k": "3"}, "k"),
        ({"question": "refund", "k": 2.5}, "k"),
        ({"question": "refund", "k": True}, "k"),
        ({"question": "refund", "k": None}, "k"),
        ({"question": "refund", "stream": True}, "stream"),
    ],
)
async def test_invalid_bodies_are_422_with_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"question"', "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/api/chat", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def _sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for frame in text.split("\n\n"):
        lines = frame.splitlines()
        if not lines or lines[0].startswith(":"):
            continue
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        events.append((lines[0][7:], json.loads(lines[1][6:])))
    return events


async def test_accept_event_stream_streams_the_same_answer(client: httpx.AsyncClient) -> None:
    body = {"question": "My card was declined", "k": 2}
    plain = (await client.post("/api/chat", json=body)).json()
    response = await client.post("/api/chat", json=body, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = _sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    assert events[0][1] == plain["sources"]
    assert events[-1][1] == {"answer": plain["answer"]}
    assert "".join(data["text"] for name, data in events if name == "token") == plain["answer"]


async def test_bad_input_is_a_json_422_even_when_a_stream_is_asked_for(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/chat", json={"question": " "}, headers={"Accept": "text/event-stream"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"question": ANY}
