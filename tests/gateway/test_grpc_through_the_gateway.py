"""gRPC through the gateway's h2c listener reaches core and rag, with the token and only so."""

import grpc
import pytest
from devstack import Stack
from grpc_health.v1 import health_pb2, health_pb2_grpc
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_channel

pytestmark = pytest.mark.stack


def _target(stack: Stack) -> str:
    return f"127.0.0.1:{stack.config.ports.gateway_grpc}"


def test_core_and_rag_answer_through_the_gateway(stack: Stack) -> None:
    with open_channel(_target(stack), stack.secrets.service_token) as channel:
        customer = core_pb2_grpc.CoreServiceStub(channel).GetCustomer(
            core_pb2.GetCustomerRequest(id=1)
        )
        found = rag_pb2_grpc.RagServiceStub(channel).Search(rag_pb2.SearchRequest(query="refund"))
    assert customer.id == 1 and customer.email
    assert found.results and found.results[0].score > 0


def test_a_call_without_the_token_is_refused(stack: Stack) -> None:
    with grpc.insecure_channel(_target(stack)) as channel:
        for call in (
            lambda: core_pb2_grpc.CoreServiceStub(channel).GetCustomer(
                core_pb2.GetCustomerRequest(id=1), timeout=5
            ),
            lambda: rag_pb2_grpc.RagServiceStub(channel).Search(
                rag_pb2.SearchRequest(query="refund"), timeout=5
            ),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_the_health_service_answers_through_the_gateway(stack: Stack) -> None:
    with grpc.insecure_channel(_target(stack)) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="strangler.core.v1.CoreService"), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    "service", ["strangler.core.v1.CoreService", "strangler.rag.v1.RagService", ""]
)
def test_health_is_asked_of_the_service_named_in_the_request(stack: Stack, service: str) -> None:
    with grpc.insecure_channel(_target(stack)) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(stack: Stack) -> None:
    with grpc.insecure_channel(_target(stack)) as channel, pytest.raises(grpc.RpcError) as caught:
        health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="no.such.v1.Service"), timeout=5
        )
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_a_health_watch_passes_the_router_and_streams(stack: Stack) -> None:
    # Watch is a server stream: the router reads its one message, then the answer streams on.
    with grpc.insecure_channel(_target(stack)) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="strangler.core.v1.CoreService"), timeout=5
        )
        first = next(stream)
        stream.cancel()
    assert first.status == health_pb2.HealthCheckResponse.SERVING
