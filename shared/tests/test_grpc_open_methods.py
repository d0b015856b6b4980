"""Without the token a server answers Health/Check and nothing else, sync and asyncio alike."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from typing import Any, cast

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import AioServiceTokenServerInterceptor, ServiceTokenServerInterceptor

TOKEN = "t" * 40
SERVICES = (
    rag_pb2.DESCRIPTOR.services_by_name["RagService"].full_name,
    health.SERVICE_NAME,
    reflection.SERVICE_NAME,
)


class AioStreamingRag(rag_pb2_grpc.RagServiceServicer):
    async def Answer(
        self, request: rag_pb2.AnswerRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[rag_pb2.AnswerEvent]:
        yield rag_pb2.AnswerEvent(done=rag_pb2.AnswerDone(answer="secret"))


@pytest.fixture
def sync_target() -> Iterator[str]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[ServiceTokenServerInterceptor(TOKEN)],
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    reflection.enable_server_reflection(SERVICES, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


def _first_code(call: grpc.Call | Iterator[object]) -> grpc.StatusCode:
    try:
        next(iter(call))  # type: ignore[arg-type]
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_sync_check_is_open_but_watch_and_reflection_need_the_token(sync_target: str) -> None:
    with grpc.insecure_channel(sync_target) as channel:
        health_stub = health_pb2_grpc.HealthStub(channel)
        check = health_stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        watch = health_stub.Watch(health_pb2.HealthCheckRequest(), timeout=5)
        # The reflection stubs' types are incomplete: the call is checked at run time.
        reflection_stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
        listing = reflection_stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        assert check.status == health_pb2.HealthCheckResponse.SERVING
        assert _first_code(watch) is grpc.StatusCode.UNAUTHENTICATED
        assert _first_code(listing) is grpc.StatusCode.UNAUTHENTICATED


async def _aio_codes(token: str | None) -> list[grpc.StatusCode]:
    server = grpc.aio.server(interceptors=[AioServiceTokenServerInterceptor(TOKEN)])
    rag_pb2_grpc.add_RagServiceServicer_to_server(AioStreamingRag(), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    reflection.enable_server_reflection(SERVICES, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    metadata = () if token is None else (("authorization", f"Bearer {token}"),)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            calls = [
                rag_pb2_grpc.RagServiceStub(channel).Answer(
                    rag_pb2.AnswerRequest(question="q"), timeout=5, metadata=metadata
                ),
                health_pb2_grpc.HealthStub(channel).Watch(
                    health_pb2.HealthCheckRequest(), timeout=5, metadata=metadata
                ),
                cast(Any, reflection_pb2_grpc.ServerReflectionStub)(channel).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                    timeout=5,
                    metadata=metadata,
                ),
            ]
            return [await _aio_first_code(call) for call in calls]
    finally:
        await server.stop(None)


async def _aio_first_code(call: object) -> grpc.StatusCode:
    try:
        await call.read()  # type: ignore[attr-defined]
    except grpc.aio.AioRpcError as error:
        return error.code()
    call.cancel()  # type: ignore[attr-defined]
    return grpc.StatusCode.OK


@pytest.mark.parametrize("token", [None, "w" * 40], ids=["no-token", "wrong-token"])
def test_aio_streams_without_a_valid_token_are_unauthenticated(token: str | None) -> None:
    codes = asyncio.run(_aio_codes(token))

    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 3


def test_aio_streams_with_the_token_are_served() -> None:
    assert asyncio.run(_aio_codes(TOKEN)) == [grpc.StatusCode.OK] * 3
