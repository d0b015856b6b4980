"""Malformed calls to every RPC of core's gRPC server get a clear status, never UNKNOWN.

Each call carries a deadline, so a hang fails the test instead of stalling it. The statuses a
caller may see for bad input are INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND,
RESOURCE_EXHAUSTED, or OK when the request was in fact usable.
"""

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from strangler_contracts.core.v1 import core_pb2

from core.billing.models import BillingAccount, ProcessedEvent
from core.customers.models import Customer
from core.grpc.server import RunningServer, start_server
from core.knowledge.services import ChangeKey, encode_cursor

pytestmark = pytest.mark.django_db(transaction=True)

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
DEADLINE = 5.0
Bytes = Callable[[bytes], bytes]

# Every RPC of the server, with its request and response types and whether it streams back.
METHODS: dict[str, tuple[Any, Any, bool]] = {
    "/strangler.core.v1.CoreService/GetCustomer": (
        core_pb2.GetCustomerRequest,
        core_pb2.Customer,
        False,
    ),
    "/strangler.core.v1.CoreService/ListArticles": (
        core_pb2.ListArticlesRequest,
        core_pb2.ArticleChange,
        True,
    ),
    "/strangler.core.v1.CoreService/ApplyEvent": (
        core_pb2.ApplyEventRequest,
        core_pb2.ApplyEventResponse,
        False,
    ),
    "/grpc.health.v1.Health/Check": (
        health_pb2.HealthCheckRequest,
        health_pb2.HealthCheckResponse,
        False,
    ),
}


@pytest.fixture
def server(service_token: str) -> Iterator[RunningServer]:
    running = start_server("127.0.0.1:0", service_token, max_workers=4)
    yield running
    running.stop(grace=0.5)


@pytest.fixture
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as opened:
        yield opened


def _status(channel: grpc.Channel, method: str, body: bytes, token: str | None) -> grpc.StatusCode:
    _, response_type, streaming = METHODS[method]
    metadata = () if token is None else (("authorization", f"Bearer {token}"),)
    identity: Bytes = lambda raw: raw  # noqa: E731
    kwargs = {"request_serializer": identity, "response_deserializer": response_type.FromString}
    try:
        if streaming:
            call = channel.unary_stream(method, **kwargs)(body, timeout=DEADLINE, metadata=metadata)
            for _ in call:
                pass
        else:
            channel.unary_unary(method, **kwargs)(body, timeout=DEADLINE, metadata=metadata)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _nonsense(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"", b"\xff" * 3, b"\x08" + b"\xff" * 10] + [
        rng.randbytes(rng.randint(1, 64)) for _ in range(12)
    ]


def _timestamp(seconds: int, nanos: int = 0) -> Timestamp:
    stamp = Timestamp()
    stamp.seconds, stamp.nanos = seconds, nanos
    return stamp


def _event(payload: bytes, **fields: Any) -> bytes:
    fields.setdefault("event_id", "evt_fuzz")
    fields.setdefault("type", "invoice.payment_failed")
    message = core_pb2.ApplyEventRequest(payload=payload, **fields)
    return message.SerializeToString()


def _failed_payment(customer: str, amount: Any) -> bytes:
    event = {"data": {"object": {"customer": customer, "amount_due": amount}}}
    return json.dumps(event).encode()


def _malformed(customer: str) -> dict[str, list[bytes]]:
    nested = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    cursor_far_east = encode_cursor_raw("0001-01-01T00:00:00+23:59", 1)
    cursor_far_west = encode_cursor_raw("9999-12-31T23:59:59-23:59", 1)
    return {
        "/strangler.core.v1.CoreService/GetCustomer": [
            core_pb2.GetCustomerRequest(id=value).SerializeToString()
            for value in (0, -1, 2**63 - 1, -(2**63))
        ],
        "/strangler.core.v1.CoreService/ListArticles": [
            core_pb2.ListArticlesRequest(cursor=c, limit=n).SerializeToString()
            for c, n in [
                (cursor_far_east, 0),
                (cursor_far_west, 0),
                ("!!!", 0),
                ("x" * 10_000, 0),
                ("", -5),
                ("", 2**31 - 1),
            ]
        ],
        "/strangler.core.v1.CoreService/ApplyEvent": [
            _event(nested),
            _event(b"[" * 5_000 + b"]" * 5_000),
            _event(b"{}", received_at=_timestamp(2**62)),
            _event(b"{}", received_at=_timestamp(-(2**62))),
            _event(b"{}", received_at=_timestamp(0, 2_000_000_000)),
            _event(_failed_payment(customer, 10**30)),
            _event(_failed_payment(customer, -(10**30))),
            _event(b'{"n": 1e999999}'),
            _event(b"{}", event_id="e" * 10_000),
            _event(b"\xff\xfe"),
        ],
        "/grpc.health.v1.Health/Check": [
            health_pb2.HealthCheckRequest(service="x" * 10_000).SerializeToString()
        ],
    }


def encode_cursor_raw(changed_at: str, article_id: int) -> str:
    """Encode a cursor around an arbitrary timestamp text, as a forger would."""
    from datetime import datetime

    return encode_cursor(ChangeKey(datetime.fromisoformat(changed_at), article_id))


@pytest.fixture
def customer_reference(make_customer: Callable[..., Customer]) -> str:
    customer = make_customer()
    return BillingAccount.objects.get(customer=customer).provider_customer_id


@pytest.mark.parametrize("method", sorted(METHODS))
def test_nonsense_bytes_get_a_clear_status(
    channel: grpc.Channel, service_token: str, method: str
) -> None:
    codes = {_status(channel, method, body, service_token) for body in _nonsense(seed=14)}

    assert codes <= ALLOWED


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("token", [None, "w" * 48], ids=["no-token", "wrong-token"])
def test_without_a_valid_token_only_check_answers(
    channel: grpc.Channel, method: str, token: str | None
) -> None:
    request_type = METHODS[method][0]
    code = _status(channel, method, request_type().SerializeToString(), token)

    expected = grpc.StatusCode.OK if method.endswith("/Check") else grpc.StatusCode.UNAUTHENTICATED
    assert code is expected


def test_out_of_range_fields_get_a_clear_status(
    channel: grpc.Channel, service_token: str, customer_reference: str
) -> None:
    codes = {
        (method, index): _status(channel, method, body, service_token)
        for method, bodies in _malformed(customer_reference).items()
        for index, body in enumerate(bodies)
    }

    assert {key: code for key, code in codes.items() if code not in ALLOWED} == {}
    apply_event = "/strangler.core.v1.CoreService/ApplyEvent"
    assert {code for (method, _), code in codes.items() if method == apply_event} == {
        grpc.StatusCode.INVALID_ARGUMENT
    }
    assert not ProcessedEvent.objects.exists()


def test_reflection_needs_the_token(channel: grpc.Channel) -> None:
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )(iter([request]), timeout=DEADLINE)

    with pytest.raises(grpc.RpcError) as caught:
        next(call)

    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
