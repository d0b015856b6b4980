"""The service-token check over real gRPC sockets, sync and asyncio."""

import asyncio
from collections.abc import Iterator
from concurrent import futures

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import (
    AioServiceTokenServerInterceptor,
    ServiceTokenServerInterceptor,
    open_aio_channel,
    open_channel,
)

TOKEN = "t" * 40


class EchoRag(rag_pb2_grpc.RagServiceServicer):
    def Search(self, request, context):
        return rag_pb2.SearchResponse(
            results=[rag_pb2.SearchResult(article_id=1, title=request.query, score=1.0)]
        )


@pytest.fixture
def sync_server() -> Iterator[str]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[ServiceTokenServerInterceptor(TOKEN)],
    )
    rag_pb2_grpc.add_RagServiceServicer_to_server(EchoRag(), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_call_with_token_is_served(sync_server: str) -> None:
    with open_channel(sync_server, TOKEN) as channel:
        reply = rag_pb2_grpc.RagServiceStub(channel).Search(rag_pb2.SearchRequest(query="refund"))
    assert reply.results[0].title == "refund"


@pytest.mark.parametrize("token", [None, "w" * 40])
def test_call_without_valid_token_is_unauthenticated(sync_server: str, token: str | None) -> None:
    channel = (
        grpc.insecure_channel(sync_server) if token is None else open_channel(sync_server, token)
    )
    with channel, pytest.raises(grpc.RpcError) as caught:
        rag_pb2_grpc.RagServiceStub(channel).Search(rag_pb2.SearchRequest(query="x"), timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "service token" in (caught.value.details() or "")


def test_health_service_needs_no_token(sync_server: str) -> None:
    with grpc.insecure_channel(sync_server) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


class AioEchoRag(rag_pb2_grpc.RagServiceServicer):
    async def Search(self, request, context):
        return rag_pb2.SearchResponse(results=[rag_pb2.SearchResult(title=request.query)])


async def _aio_round_trip(client_token: str) -> grpc.StatusCode | str:
    server = grpc.aio.server(interceptors=[AioServiceTokenServerInterceptor(TOKEN)])
    rag_pb2_grpc.add_RagServiceServicer_to_server(AioEchoRag(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with open_aio_channel(f"127.0.0.1:{port}", client_token) as channel:
            reply = await rag_pb2_grpc.RagServiceStub(channel).Search(
                rag_pb2.SearchRequest(query="invoice")
            )
            return reply.results[0].title
    except grpc.aio.AioRpcError as error:
        return error.code()
    finally:
        await server.stop(None)


def test_aio_server_accepts_token_and_rejects_others() -> None:
    assert asyncio.run(_aio_round_trip(TOKEN)) == "invoice"
    assert asyncio.run(_aio_round_trip("x" * 40)) is grpc.StatusCode.UNAUTHENTICATED
