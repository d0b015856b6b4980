"""gRPC through the gateway: h2c, routed by service name, metadata untouched, errors as statuses."""

import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from strangler_testing import route_table
from strangler_testing.gateway import EchoUpstream, RunningGateway, running_gateway

TABLE = route_table(
    ["monolith", "core_grpc", "rag_grpc", "gone_grpc"],
    [],
    grpc=[
        {
            "name": "core-grpc",
            "services": ["strangler.core.v1.CoreService", "grpc.health.v1.Health"],
            "upstream": "core_grpc",
        },
        {"name": "rag-grpc", "services": ["strangler.rag.v1.RagService"], "upstream": "rag_grpc"},
        {"name": "gone", "services": ["gone.v1.Gone"], "upstream": "gone_grpc"},
    ],
    grpc_listen="127.0.0.1:9090",
)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"


@dataclass
class _Recorder(grpc.GenericRpcHandler):
    """Answers every unary call with its own name and keeps each call's method and metadata."""

    name: str
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = str(details.method)
        metadata = {key: str(value) for key, value in details.invocation_metadata or ()}

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            with self.lock:
                self.calls.append((method, metadata))
            return self.name.encode()

        return grpc.unary_unary_rpc_method_handler(answer)


@pytest.fixture
def recorders() -> Iterator[dict[str, tuple[_Recorder, str]]]:
    """Two gRPC servers standing for core's and rag's, each recording what it receives."""
    servers, found = [], {}
    for name in ("core", "rag"):
        recorder = _Recorder(name)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[recorder])
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        found[name] = (recorder, f"127.0.0.1:{port}")
    yield found
    for server in servers:
        server.stop(grace=None)


@pytest.fixture
def gateway(
    tmp_path: Path, recorders: dict[str, tuple[_Recorder, str]]
) -> Iterator[RunningGateway]:
    """A gateway routing the two services to the recorders; the third upstream is down."""
    table = tmp_path / "routes.toml"
    table.write_text(TABLE)
    with EchoUpstream("monolith") as monolith:
        servers = {"monolith": [monolith.address], "core_grpc": [recorders["core"][1]],
                   "rag_grpc": [recorders["rag"][1]], "gone_grpc": ["127.0.0.1:1"]}  # fmt: skip
        with running_gateway(table, tmp_path / "nginx", servers) as running:
            yield running


def _call(gateway: RunningGateway, method: str, **metadata: str) -> tuple[bytes, Any]:
    assert gateway.grpc_target is not None
    with grpc.insecure_channel(gateway.grpc_target) as channel:
        stub = channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)
        reply, call = stub.with_call(b"", timeout=5, metadata=tuple(metadata.items()))
    return reply, call


def test_calls_are_routed_by_service_name(
    gateway: RunningGateway, recorders: dict[str, tuple[_Recorder, str]]
) -> None:
    assert _call(gateway, "/strangler.core.v1.CoreService/GetCustomer")[0] == b"core"
    assert _call(gateway, "/strangler.rag.v1.RagService/Search")[0] == b"rag"
    assert _call(gateway, "/grpc.health.v1.Health/Check")[0] == b"core"
    assert [m for m, _ in recorders["rag"][0].calls] == ["/strangler.rag.v1.RagService/Search"]


def test_metadata_passes_through_with_the_gateway_s_trace_context(
    gateway: RunningGateway, recorders: dict[str, tuple[_Recorder, str]]
) -> None:
    _, call = _call(gateway, "/strangler.rag.v1.RagService/Search",
                    authorization="Bearer a-service-token", traceparent=TRACEPARENT,
                    baggage="tenant=acme")  # fmt: skip
    ((_, metadata),) = recorders["rag"][0].calls
    assert metadata["authorization"] == "Bearer a-service-token"
    assert metadata["baggage"] == "tenant=acme"
    trace_id, span_id = metadata["traceparent"].split("-")[1:3]
    assert trace_id == TRACEPARENT.split("-")[1] and span_id != TRACEPARENT.split("-")[2]
    request_id = dict(call.initial_metadata())["x-request-id"]
    assert metadata["x-request-id"] == request_id
    line = gateway.access_log_entries(at_least=1)[-1]
    assert (line["route"], line["mode"], line["grpc_status"]) == ("rag-grpc", "grpc", "0")
    assert (line["trace_id"], line["span_id"], line["request_id"]) == (
        trace_id,
        span_id,
        request_id,
    )


@pytest.mark.parametrize(
    ("traceparent", "continued"),
    [
        (TRACEPARENT, True),
        ("01" + TRACEPARENT[2:] + "-extra", True),  # a later version, sent on as 00
        ("ff" + TRACEPARENT[2:], False),  # forbidden version
        (TRACEPARENT.upper(), False),
    ],
)
def test_tracestate_follows_the_trace_it_belongs_to(
    gateway: RunningGateway,
    recorders: dict[str, tuple[_Recorder, str]],
    traceparent: str,
    continued: bool,
) -> None:
    _, call = _call(gateway, "/strangler.rag.v1.RagService/Search", traceparent=traceparent,
                    tracestate=TRACESTATE)  # fmt: skip
    ((_, metadata),) = recorders["rag"][0].calls
    version, trace_id = metadata["traceparent"].split("-")[:2]
    request_id = dict(call.initial_metadata())["x-request-id"]
    assert version == "00"
    if continued:
        assert (trace_id, metadata["tracestate"]) == (TRACEPARENT.split("-")[1], TRACESTATE)
    else:
        assert trace_id == request_id, "an invalid traceparent restarts the trace"
        assert "tracestate" not in metadata, "the old tracestate belongs to another trace"


def test_an_unknown_service_is_unimplemented(gateway: RunningGateway) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _call(gateway, "/other.v1.Other/Do")
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED


def test_an_unreachable_service_is_unavailable(gateway: RunningGateway) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _call(gateway, "/gone.v1.Gone/Do")
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    line = gateway.access_log_entries(at_least=1)[-1]
    assert (line["route"], line["grpc_status"]) == ("gone", "14")
