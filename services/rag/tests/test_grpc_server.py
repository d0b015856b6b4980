"""RagService over a real socket: same ranking as HTTP, token required, arguments checked."""

from collections.abc import AsyncIterator

import grpc
import grpc.aio
import httpx
import pytest
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rag.grpc_server import SERVICE_NAME
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_aio_channel

pytestmark = pytest.mark.anyio


@pytest.fixture
def target(app: FastAPI) -> str:
    return f"127.0.0.1:{app.state.grpc_port}"


@pytest.fixture
async def stub(target: str, service_token: str) -> AsyncIterator[rag_pb2_grpc.RagServiceStub]:
    async with open_aio_channel(target, service_token) as channel:
        yield rag_pb2_grpc.RagServiceStub(channel)


async def test_search_ranks_like_the_http_api(
    stub: rag_pb2_grpc.RagServiceStub, client: httpx.AsyncClient
) -> None:
    reply = await stub.Search(rag_pb2.SearchRequest(query="billing page card", k=3))
    http = (await client.get("/api/search", params={"q": "billing page card", "k": 3})).json()
    assert [r.article_id for r in reply.results] == [r["id"] for r in http["results"]]
    assert [r.snippet for r in reply.results] == [r["snippet"] for r in http["results"]]
    assert [r.score for r in reply.results] == pytest.approx([r["score"] for r in http["results"]])
    assert reply.results[0].title


async def test_k_zero_means_the_default(stub: rag_pb2_grpc.RagServiceStub) -> None:
    reply = await stub.Search(rag_pb2.SearchRequest(query="the page plan password card"))
    assert len(reply.results) == 4  # every article matches; the default k is 5


async def test_no_match_is_an_empty_reply(stub: rag_pb2_grpc.RagServiceStub) -> None:
    reply = await stub.Search(rag_pb2.SearchRequest(query="kubernetes", k=5))
    assert list(reply.results) == []


@pytest.mark.parametrize(
    ("query", "k"), [("card", 51), ("card", -1), ("", 5), ("  ", 5), ("x" * 501, 5)]
)
async def test_invalid_arguments_are_refused(
    stub: rag_pb2_grpc.RagServiceStub, query: str, k: int
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Search(rag_pb2.SearchRequest(query=query, k=k))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_a_call_without_the_token_is_unauthenticated(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await rag_pb2_grpc.RagServiceStub(channel).Search(
                rag_pb2.SearchRequest(query="card", k=1), timeout=5
            )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_health_reports_serving_once_synced_without_a_token(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
