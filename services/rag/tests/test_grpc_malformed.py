"""Malformed calls to every RPC of rag's gRPC server get a clear status, never UNKNOWN.

rag runs on a real port in its own thread; every call has a deadline, so a hang fails the test.
"""

import random
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2
from strangler_contracts.rag.v1 import rag_pb2

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
DEADLINE = 5.0

METHODS: dict[str, tuple[Any, Any, bool]] = {
    "/strangler.rag.v1.RagService/Search": (
        rag_pb2.SearchRequest,
        rag_pb2.SearchResponse,
        False,
    ),
    "/strangler.rag.v1.RagService/Answer": (rag_pb2.AnswerRequest, rag_pb2.AnswerEvent, True),
    "/grpc.health.v1.Health/Check": (
        health_pb2.HealthCheckRequest,
        health_pb2.HealthCheckResponse,
        False,
    ),
    "/grpc.health.v1.Health/Watch": (
        health_pb2.HealthCheckRequest,
        health_pb2.HealthCheckResponse,
        True,
    ),
}


@pytest.fixture
def channel(serve_rag: Any) -> Iterator[grpc.Channel]:
    with serve_rag() as served:
        port = served.app.state.grpc_port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as opened:
            yield opened


def _status(channel: grpc.Channel, method: str, body: bytes, token: str | None) -> grpc.StatusCode:
    _, response_type, streaming = METHODS[method]
    metadata = () if token is None else (("authorization", f"Bearer {token}"),)
    kwargs = {
        "request_serializer": lambda raw: raw,
        "response_deserializer": response_type.FromString,
    }
    try:
        if streaming:
            call = channel.unary_stream(method, **kwargs)(body, timeout=DEADLINE, metadata=metadata)
            next(iter(call), None)
            call.cancel()
        else:
            channel.unary_unary(method, **kwargs)(body, timeout=DEADLINE, metadata=metadata)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _nonsense(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"\xff" * 3, b"\x08" + b"\xff" * 10] + [
        rng.randbytes(rng.randint(1, 64)) for _ in range(12)
    ]


def test_nonsense_bytes_get_a_clear_status(channel: grpc.Channel, service_token: str) -> None:
    codes = {
        (method, body): _status(channel, method, body, service_token)
        for method in METHODS
        for body in _nonsense(seed=14)
    }

    assert {key: code for key, code in codes.items() if code not in ALLOWED} == {}


@pytest.mark.parametrize("token", [None, "w" * 48], ids=["no-token", "wrong-token"])
def test_without_a_valid_token_only_check_answers(channel: grpc.Channel, token: str | None) -> None:
    codes = {
        method: _status(channel, method, METHODS[method][0]().SerializeToString(), token)
        for method in METHODS
    }

    assert codes == {
        method: grpc.StatusCode.OK if method.endswith("/Check") else grpc.StatusCode.UNAUTHENTICATED
        for method in METHODS
    }


def test_out_of_range_fields_are_invalid_argument(
    channel: grpc.Channel, service_token: str
) -> None:
    search, answer = "/strangler.rag.v1.RagService/Search", "/strangler.rag.v1.RagService/Answer"
    cases = [
        (search, rag_pb2.SearchRequest(query="card", k=2**31 - 1)),
        (search, rag_pb2.SearchRequest(query="card", k=-(2**31))),
        (search, rag_pb2.SearchRequest(query="x" * 100_000, k=1)),
        (search, rag_pb2.SearchRequest(query="\u00a0\u2003", k=1)),
        (answer, rag_pb2.AnswerRequest(question="card", k=2**31 - 1)),
        (answer, rag_pb2.AnswerRequest(question="", k=1)),
        (answer, rag_pb2.AnswerRequest(question="q" * 100_000, k=1)),
    ]
    codes = [
        _status(channel, method, message.SerializeToString(), service_token)
        for method, message in cases
    ]

    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * len(cases)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_well_formed_calls_still_answer(
    channel: grpc.Channel, service_token: str, method: str
) -> None:
    request_type = METHODS[method][0]
    fields = {"query": "card", "k": 1} if "Search" in method else {}
    fields = {"question": "card", "k": 1} if "Answer" in method else fields
    request = request_type(**fields).SerializeToString()

    assert _status(channel, method, request, service_token) is grpc.StatusCode.OK
