"""Internal gRPC is authenticated: a call without the service token is refused."""

import grpc
import pytest
from devstack import Stack
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_channel

pytestmark = pytest.mark.stack


def test_core_refuses_a_call_without_token(stack: Stack) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{stack.config.ports.core_grpc}")
    with channel, pytest.raises(grpc.RpcError) as caught:
        core_pb2_grpc.CoreServiceStub(channel).GetCustomer(
            core_pb2.GetCustomerRequest(id=1), timeout=5
        )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_rag_refuses_a_call_with_a_wrong_token(stack: Stack) -> None:
    channel = open_channel(f"127.0.0.1:{stack.config.ports.rag_grpc}", "not-the-token" * 4)
    with channel, pytest.raises(grpc.RpcError) as caught:
        rag_pb2_grpc.RagServiceStub(channel).Search(rag_pb2.SearchRequest(query="refund"))
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_calls_with_the_token_are_served(stack: Stack) -> None:
    token = stack.secrets.service_token
    with open_channel(f"127.0.0.1:{stack.config.ports.core_grpc}", token) as channel:
        customer = core_pb2_grpc.CoreServiceStub(channel).GetCustomer(
            core_pb2.GetCustomerRequest(id=1)
        )
    with open_channel(f"127.0.0.1:{stack.config.ports.rag_grpc}", token) as channel:
        found = rag_pb2_grpc.RagServiceStub(channel).Search(rag_pb2.SearchRequest(query="refund"))
    assert customer.id == 1 and customer.email
    assert found.results and found.results[0].score > 0
