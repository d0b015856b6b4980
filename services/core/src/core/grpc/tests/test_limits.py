"""Streams cannot starve CoreService's server: bounded in number and in lifetime."""

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import open_channel

from core.customers.models import Customer
from core.grpc.server import DEFAULT_MAX_WORKERS, RunningServer, start_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(service_token: str) -> Iterator[RunningServer]:
    running = start_server("127.0.0.1:0", service_token, max_stream_seconds=1.5)
    yield running
    running.stop(grace=0.5)


def _watch(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.Call:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Watch(health_pb2.HealthCheckRequest(), timeout=30, metadata=metadata)


def _first(call: grpc.Call) -> grpc.StatusCode:
    try:
        next(iter(call))  # type: ignore[call-overload]
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_unauthenticated_watch_streams_are_refused_and_calls_still_served(
    server: RunningServer, service_token: str, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer()
    target = f"127.0.0.1:{server.port}"
    with grpc.insecure_channel(target) as anonymous, open_channel(target, service_token) as ours:
        watches = [_watch(anonymous) for _ in range(DEFAULT_MAX_WORKERS)]
        codes = {_first(call) for call in watches}
        reply = core_pb2_grpc.CoreServiceStub(ours).GetCustomer(
            core_pb2.GetCustomerRequest(id=customer.pk), timeout=3
        )
        check = health_pb2_grpc.HealthStub(anonymous).Check(
            health_pb2.HealthCheckRequest(), timeout=3
        )

    assert codes == {grpc.StatusCode.UNAUTHENTICATED}
    assert reply.id == customer.pk
    assert check.status == health_pb2.HealthCheckResponse.SERVING


def test_streams_past_the_bound_are_resource_exhausted_and_unary_calls_still_served(
    server: RunningServer, service_token: str, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer()
    auth = (("authorization", f"Bearer {service_token}"),)
    target = f"127.0.0.1:{server.port}"
    with grpc.insecure_channel(target) as channel, open_channel(target, service_token) as ours:
        watches = [_watch(channel, auth) for _ in range(DEFAULT_MAX_WORKERS)]
        codes = [_first(call) for call in watches]
        started = time.monotonic()
        reply = core_pb2_grpc.CoreServiceStub(ours).GetCustomer(
            core_pb2.GetCustomerRequest(id=customer.pk), timeout=3
        )
        elapsed = time.monotonic() - started
        for call in watches:
            call.cancel()

    assert codes.count(grpc.StatusCode.OK) >= 1
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert reply.id == customer.pk and elapsed < 3


def test_a_stream_ends_at_its_lifetime_and_frees_its_place(
    server: RunningServer, service_token: str
) -> None:
    auth = (("authorization", f"Bearer {service_token}"),)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        watches = [_watch(channel, auth) for _ in range(DEFAULT_MAX_WORKERS)]
        admitted = [call for call in watches if _first(call) is grpc.StatusCode.OK]
        ends = [_drain(call) for call in admitted]
        later = _watch(channel, auth)
        later_code = _first(later)
        later.cancel()

    assert set(ends) == {grpc.StatusCode.CANCELLED}
    assert later_code is grpc.StatusCode.OK


def _drain(call: grpc.Call) -> grpc.StatusCode:
    try:
        for _ in call:  # type: ignore[attr-defined]
            pass
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK
