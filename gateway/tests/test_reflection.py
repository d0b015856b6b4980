"""The reflection server answers for exactly the routed services, directly and through nginx."""

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2
from strangler_gateway import load_route_table
from strangler_gateway.reflection import (
    REFLECTION_SERVICES,
    RunningReflection,
    UnknownServiceError,
    contract_pool,
    routed_services,
    serve_reflection,
)
from strangler_testing.gateway import RunningGateway, running_gateway

ROUTES = Path(__file__).resolve().parents[1] / "routes.toml"
SERVICES = routed_services(load_route_table(ROUTES))
PATHS = {
    version: f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    for version in ("v1", "v1alpha")
}


def _ask(
    target: str, *requests: reflection_pb2.ServerReflectionRequest, version: str = "v1alpha"
) -> list[reflection_pb2.ServerReflectionResponse]:
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream(
            PATHS[version],
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        return list(call(iter(requests), timeout=10))


def _listed(target: str, version: str = "v1alpha") -> list[str]:
    (reply,) = _ask(
        target, reflection_pb2.ServerReflectionRequest(list_services=""), version=version
    )
    return [service.name for service in reply.list_services_response.service]


def _file_of(
    target: str, symbol: str, version: str = "v1alpha"
) -> descriptor_pb2.FileDescriptorProto:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
    (reply,) = _ask(target, request, version=version)
    assert not reply.HasField("error_response"), reply.error_response.error_message
    # The first file is the one that defines the symbol; its imports follow.
    return descriptor_pb2.FileDescriptorProto.FromString(
        reply.file_descriptor_response.file_descriptor_proto[0]
    )


@pytest.fixture
def reflection_server() -> Iterator[RunningReflection]:
    """The reflection server for the project's route table, on a fresh port."""
    running = serve_reflection("127.0.0.1:0", SERVICES, contract_pool(SERVICES))
    yield running
    running.server.stop(grace=None)


def test_the_table_routes_core_rag_health_and_reflection() -> None:
    assert {"strangler.core.v1.CoreService", "strangler.rag.v1.RagService",
            "grpc.health.v1.Health", *REFLECTION_SERVICES} == set(SERVICES)  # fmt: skip


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_lists_exactly_the_routed_services(
    reflection_server: RunningReflection, version: str
) -> None:
    assert _listed(f"127.0.0.1:{reflection_server.port}", version) == sorted(SERVICES)


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_describes_a_method_of_each_contract(
    reflection_server: RunningReflection, version: str
) -> None:
    target = f"127.0.0.1:{reflection_server.port}"
    rag = _file_of(target, "strangler.rag.v1.RagService.Search", version)
    (service,) = rag.service
    search = next(method for method in service.method if method.name == "Search")
    assert (rag.package, service.name) == ("strangler.rag.v1", "RagService")
    assert search.input_type == ".strangler.rag.v1.SearchRequest"
    core = _file_of(target, "strangler.core.v1.GetCustomerRequest", version)
    assert "GetCustomerRequest" in {message.name for message in core.message_type}


def test_describes_reflection_v1_under_its_own_package(
    reflection_server: RunningReflection,
) -> None:
    found = _file_of(f"127.0.0.1:{reflection_server.port}", "grpc.reflection.v1.ServerReflection")
    (method,) = found.service[0].method
    assert found.package == "grpc.reflection.v1"
    assert method.input_type == ".grpc.reflection.v1.ServerReflectionRequest"


def test_an_unknown_symbol_is_not_found(reflection_server: RunningReflection) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.v1.Thing")
    (reply,) = _ask(f"127.0.0.1:{reflection_server.port}", request)
    assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


def test_a_routed_service_without_a_contract_is_refused_at_start() -> None:
    with pytest.raises(UnknownServiceError, match=r"no\.such\.v1\.Service"):
        contract_pool([*SERVICES, "no.such.v1.Service"])


def test_a_stream_is_cancelled_after_its_lifetime() -> None:
    running = serve_reflection(
        "127.0.0.1:0", SERVICES, contract_pool(SERVICES), max_stream_seconds=0.5
    )
    done = threading.Event()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            call = channel.stream_stream(
                PATHS["v1alpha"],
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            # A client that opens a stream and never asks: only the lifetime ends it.
            silent = call(_silent_until(done), timeout=10)
            with pytest.raises(grpc.RpcError) as caught:
                next(silent)
    finally:
        done.set()
        running.server.stop(grace=None)
    assert caught.value.code() is grpc.StatusCode.CANCELLED


def _silent_until(done: threading.Event) -> Iterator[reflection_pb2.ServerReflectionRequest]:
    # Holds the request side open without sending anything until the test is over.
    done.wait(15)
    yield from ()


@pytest.fixture
def gateway(tmp_path: Path, reflection_server: RunningReflection) -> Iterator[RunningGateway]:
    """The project's route table in a real nginx, reflection routed to the server above."""
    table = tmp_path / "routes.toml"
    shutil.copy(ROUTES, table)
    servers = {"reflection": [f"127.0.0.1:{reflection_server.port}"]}
    with running_gateway(table, tmp_path / "nginx", servers) as running:
        yield running


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_answers_through_the_gateway(gateway: RunningGateway, version: str) -> None:
    assert gateway.grpc_target is not None
    assert _listed(gateway.grpc_target, version) == sorted(SERVICES)
    found = _file_of(gateway.grpc_target, "strangler.core.v1.CoreService", version)
    assert found.service[0].name == "CoreService"
