"""Before its first sync from core, rag answers no question from an empty knowledge base.

A restarted worker used to take requests as soon as its lifespan had started the sync, and answer
them from an index still empty: `POST /api/chat` with the `openai` provider returned 200 in 1 ms,
with no sources, for the requests that reached the second of two workers while it synced.
"""

import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import grpc.aio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rag.main import create_app
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_aio_channel

pytestmark = pytest.mark.anyio

NOT_READY = "The knowledge base has not been synced from core yet."


@pytest.fixture
def held_core(core_factory: Any) -> Iterator[Any]:
    """A stand-in core whose article stream waits until the test releases it."""
    running = core_factory()
    running.servicer.hold = threading.Event()
    yield running
    running.servicer.hold.set()


@pytest.fixture
async def unsynced_app(held_core: Any, settings_for: Any) -> AsyncIterator[FastAPI]:
    """The app started, its first sync still waiting on core after the startup wait ran out."""
    app = create_app(settings_for(held_core.target, sync_startup_wait_seconds=0.1))
    async with app.router.lifespan_context(app):
        assert not app.state.sync.ready
        yield app


@pytest.fixture
async def unsynced_client(unsynced_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=unsynced_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as http:
        yield http


async def test_startup_waits_for_the_first_sync(held_core: Any, settings_for: Any) -> None:
    release = threading.Timer(0.3, held_core.servicer.hold.set)
    release.start()
    app = create_app(settings_for(held_core.target, sync_startup_wait_seconds=5))
    async with app.router.lifespan_context(app):
        assert app.state.sync.ready
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as http:
            response = await http.get("/api/search", params={"q": "card declined"})
    assert [hit["slug"] for hit in response.json()["results"]] == ["payment-failed"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("GET", "/api/search?q=card+declined", None, {}),
        ("POST", "/api/chat", {"question": "How do I reset my password?"}, {}),
        (
            "POST",
            "/api/chat",
            {"question": "How do I reset my password?"},
            {"accept": "text/event-stream"},
        ),
    ],
)
async def test_questions_are_503_until_the_first_sync(
    unsynced_client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    response = await unsynced_client.request(method, path, json=body, headers=headers)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == {"code": "not_ready", "message": NOT_READY}


async def test_suggestions_are_503_until_the_first_sync(
    unsynced_client: httpx.AsyncClient, service_token: str
) -> None:
    response = await unsynced_client.get(
        "/internal/customers/10/suggestions", headers={"authorization": f"Bearer {service_token}"}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"


async def test_questions_are_answered_once_the_sync_catches_up(
    unsynced_app: FastAPI, unsynced_client: httpx.AsyncClient, held_core: Any, apoll: Any
) -> None:
    held_core.servicer.hold.set()

    async def synced() -> bool:
        return bool(unsynced_app.state.sync.ready)

    await apoll(synced, timeout=10)
    response = await unsynced_client.get("/api/search", params={"q": "card declined"})
    assert response.status_code == 200
    assert [hit["slug"] for hit in response.json()["results"]] == ["payment-failed"]


async def test_grpc_calls_are_unavailable_until_the_first_sync(
    unsynced_app: FastAPI, service_token: str
) -> None:
    target = f"127.0.0.1:{unsynced_app.state.grpc_port}"
    async with open_aio_channel(target, service_token) as channel:
        stub = rag_pb2_grpc.RagServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as search:
            await stub.Search(rag_pb2.SearchRequest(query="card declined"))
        with pytest.raises(grpc.aio.AioRpcError) as answer:
            async for _ in stub.Answer(rag_pb2.AnswerRequest(question="reset password")):
                pass
    for refused in (search.value, answer.value):
        assert refused.code() == grpc.StatusCode.UNAVAILABLE
        assert refused.details() == NOT_READY


def test_a_websocket_question_gets_a_not_ready_error_and_stays_open(
    held_core: Any, settings_for: Any
) -> None:
    app = create_app(settings_for(held_core.target, sync_startup_wait_seconds=0.1))
    with TestClient(app) as client, client.websocket_connect("/api/chat/ws") as socket:
        socket.send_text(json.dumps({"question": "How do I reset my password?"}))
        refused = socket.receive_json()
        socket.send_text("[1]")
        still_open = socket.receive_json()
    assert refused == {"event": "error", "data": {"code": "not_ready", "message": NOT_READY}}
    assert still_open["data"]["code"] == "invalid_json"
