"""Fault flags: switched at run time by an authenticated internal call, felt by public routes.

The token delay is checked with a sleep that records its pauses instead of waiting: every answer
must pause once per token, whatever the transport. ``test_streaming.py`` checks real pauses.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from rag.config import Settings
from rag.faults import FaultFlags, Faults
from rag.main import create_app
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_aio_channel

pytestmark = pytest.mark.anyio


SSE = {"Accept": "text/event-stream"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_faults_are_off_by_default(client: httpx.AsyncClient, service_token: str) -> None:
    response = await client.get("/internal/faults", headers=_auth(service_token))
    assert response.json() == {
        "error_rate": 0.0,
        "added_latency_seconds": 0.0,
        "token_delay_seconds": 0.0,
        "inject_field": "",
    }
    assert (await client.get("/api/search", params={"q": "card"})).status_code == 200


async def test_an_injected_field_is_in_every_search_answer_until_cleared(
    client: httpx.AsyncClient, service_token: str
) -> None:
    plain = (await client.get("/api/search", params={"q": "card"})).json()
    flags = await client.put(
        "/internal/faults", json={"inject_field": "ranker"}, headers=_auth(service_token)
    )
    assert flags.json()["inject_field"] == "ranker"
    injected = (await client.get("/api/search", params={"q": "card"})).json()
    assert injected == {**plain, "ranker": "injected"}
    await client.put("/internal/faults", json={}, headers=_auth(service_token))
    assert (await client.get("/api/search", params={"q": "card"})).json() == plain


async def test_changing_faults_needs_the_service_token(client: httpx.AsyncClient) -> None:
    response = await client.put("/internal/faults", json={"error_rate": 1})
    assert response.status_code == 401
    wrong = await client.put("/internal/faults", json={"error_rate": 1}, headers=_auth("x" * 40))
    assert wrong.status_code == 401
    assert (await client.get("/api/search", params={"q": "card"})).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"added_latency_seconds": 61}, "added_latency_seconds"),
        ({"token_delay_seconds": 10.5}, "token_delay_seconds"),
        ({"token_delay_seconds": -0.1}, "token_delay_seconds"),
        ({"inject_field": "no spaces"}, "inject_field"),
        ({"token_delay_seconds": "slow"}, "token_delay_seconds"),
        ({"error_rate": 0.5, "explode": True}, "explode"),
    ],
)
async def test_bad_flags_are_refused(
    client: httpx.AsyncClient, service_token: str, body: dict[str, object], field: str
) -> None:
    response = await client.put("/internal/faults", json=body, headers=_auth(service_token))
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    flags = await client.get("/internal/faults", headers=_auth(service_token))
    assert set(flags.json().values()) <= {0.0, ""}, "a refused change leaves the flags as they were"


async def test_an_error_rate_of_one_fails_every_public_request_until_cleared(
    client: httpx.AsyncClient, service_token: str
) -> None:
    put = await client.put("/internal/faults", json={"error_rate": 1}, headers=_auth(service_token))
    assert put.json() == {
        "error_rate": 1.0,
        "added_latency_seconds": 0.0,
        "token_delay_seconds": 0.0,
        "inject_field": "",
    }
    search = await client.get("/api/search", params={"q": "card"})
    chat = await client.post("/api/chat", json={"question": "card"})
    for response in (search, chat):
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "injected_fault"
        assert response.headers["X-Service"] == "rag"
    assert (await client.get("/healthz")).status_code == 200
    await client.put("/internal/faults", json={}, headers=_auth(service_token))
    assert (await client.get("/api/search", params={"q": "card"})).status_code == 200


async def test_added_latency_delays_public_requests(
    client: httpx.AsyncClient, service_token: str
) -> None:
    body = {"added_latency_seconds": 0.3}
    await client.put("/internal/faults", json=body, headers=_auth(service_token))
    started = time.monotonic()
    response = await client.get("/api/search", params={"q": "card"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


class RecordingSleep:
    """Record each pause instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)

    def take(self) -> list[float]:
        """Return the pauses so far and forget them."""
        taken, self.delays = self.delays, []
        return taken


@dataclass
class Paced:
    """A started app whose faults pause through a RecordingSleep, and a client for it."""

    app: FastAPI
    client: httpx.AsyncClient
    sleep: RecordingSleep


@pytest.fixture
async def paced(core: Any, settings_for: Any) -> AsyncIterator[Paced]:
    """The app, started with faults that record their pauses (set before the lifespan runs)."""
    application = create_app(settings_for(core.target))
    sleep = RecordingSleep()
    application.state.faults = Faults(sleep=sleep)
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with application.router.lifespan_context(application):
        with anyio.fail_after(10):
            await application.state.sync.wait_ready()
        async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as client:
            yield Paced(application, client, sleep)


QUESTION: dict[str, Any] = {
    "question": "my card was declined, what about the invoice and the trial",
    "k": 3,
}


def _sse_tokens(text: str) -> tuple[list[str], str]:
    """Return the token texts and the done answer of an SSE body."""
    tokens, answer = [], ""
    for frame in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if lines.get("event") == "token":
            tokens.append(json.loads(lines["data"])["text"])
        elif lines.get("event") == "done":
            answer = json.loads(lines["data"])["answer"]
    return tokens, answer


async def _grpc_tokens(app: FastAPI, token: str) -> list[str]:
    target = f"127.0.0.1:{app.state.grpc_port}"
    async with open_aio_channel(target, token, default_timeout=30) as channel:
        stub = rag_pb2_grpc.RagServiceStub(channel)
        request = rag_pb2.AnswerRequest(question=QUESTION["question"], k=QUESTION["k"])
        events = [event async for event in stub.Answer(request)]
    assert events[-1].WhichOneof("event") == "done"
    return [event.token.text for event in events if event.WhichOneof("event") == "token"]


async def test_faults_pause_for_the_token_delay_only_when_it_is_set() -> None:
    sleep = RecordingSleep()
    faults = Faults(FaultFlags(token_delay_seconds=0.25), sleep=sleep)
    await faults.pace_token()
    await faults.pace_token()
    faults.flags = FaultFlags()
    await faults.pace_token()
    await faults.inject()
    assert sleep.delays == [0.25, 0.25]


async def test_the_token_delay_pauses_before_every_token_of_every_answer(
    paced: Paced, service_token: str
) -> None:
    body = {"token_delay_seconds": 0.25}
    put = await paced.client.put("/internal/faults", json=body, headers=_auth(service_token))
    assert put.json()["token_delay_seconds"] == 0.25
    sse = await paced.client.post("/api/chat", json=QUESTION, headers=SSE)
    tokens, answer = _sse_tokens(sse.text)
    assert len(tokens) >= 2 and "".join(tokens) == answer
    assert paced.sleep.take() == [0.25] * len(tokens)
    plain = await paced.client.post("/api/chat", json=QUESTION)
    assert plain.json()["answer"] == answer
    assert paced.sleep.take() == [0.25] * len(tokens)
    assert await _grpc_tokens(paced.app, service_token) == tokens
    assert paced.sleep.take() == [0.25] * len(tokens)


async def test_clearing_the_faults_stops_the_token_delay(paced: Paced, service_token: str) -> None:
    headers = _auth(service_token)
    await paced.client.put("/internal/faults", json={"token_delay_seconds": 1}, headers=headers)
    await paced.client.put("/internal/faults", json={}, headers=headers)
    sse = await paced.client.post("/api/chat", json=QUESTION, headers=SSE)
    assert _sse_tokens(sse.text)[0], "the answer still streams its tokens"
    assert paced.sleep.delays == []


def test_the_token_delay_starts_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, service_token: str
) -> None:
    monkeypatch.setenv("RAG_FAULT_TOKEN_DELAY_SECONDS", "0.75")
    app = create_app(Settings())
    assert app.state.faults.flags == FaultFlags(token_delay_seconds=0.75)


@pytest.mark.parametrize("value", ["-1", "10.5", "slow"])
def test_a_token_delay_out_of_range_is_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RAG_FAULT_TOKEN_DELAY_SECONDS", value)
    with pytest.raises(ValidationError, match="fault_token_delay_seconds"):
        Settings()
