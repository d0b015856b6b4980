"""gRPC through the gateway's h2c listener reaches core and rag (with the token) and reflection."""

import grpc
import pytest
from devstack import Stack
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
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
    # Unlike Check it holds a server thread, so it needs the service token.
    with open_channel(_target(stack), stack.secrets.service_token) as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="strangler.core.v1.CoreService"), timeout=5
        )
        first = next(stream)
        stream.cancel()
    assert first.status == health_pb2.HealthCheckResponse.SERVING


def _reflect(
    stack: Stack, request: reflection_pb2.ServerReflectionRequest, version: str
) -> reflection_pb2.ServerReflectionResponse:
    # Anonymous on purpose: reflection through the gateway serves only the public schemas.
    with grpc.insecure_channel(_target(stack)) as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (reply,) = call(iter([request]), timeout=5)
    return reply


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_every_routed_service_through_the_gateway(
    stack: Stack, version: str
) -> None:
    reply = _reflect(stack, reflection_pb2.ServerReflectionRequest(list_services=""), version)
    listed = {service.name for service in reply.list_services_response.service}
    assert {"strangler.core.v1.CoreService", "strangler.rag.v1.RagService",
            "grpc.health.v1.Health"} <= listed  # fmt: skip


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_describes_a_method_through_the_gateway(stack: Stack, version: str) -> None:
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="strangler.core.v1.CoreService.GetCustomer"
    )
    reply = _reflect(stack, request, version)
    found = descriptor_pb2.FileDescriptorProto.FromString(
        reply.file_descriptor_response.file_descriptor_proto[0]
    )
    methods = {method.name: method for method in found.service[0].method}
    assert methods["GetCustomer"].input_type == ".strangler.core.v1.GetCustomerRequest"
