"""gRPC through the gateway continues the client's trace, unary and server-streaming alike.

A client calls the gateway's gRPC port with W3C ``traceparent``, ``tracestate`` and ``baggage``
metadata. The gateway logs the call (so its span joins the trace) and passes the context on; the
service's server span hangs under the gateway's, carries the client's trace state, and records the
client's ``migration.*`` baggage. For the streamed answer, rag's stream span lies under its server
span and marks the first token.
"""

import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from devstack import Stack
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_testing.tracestore import Observed, Span, TraceReader

pytestmark = pytest.mark.stack

TRACESTATE = "strangler=grpc7Q,vendor=opaque-value"
STREAM_SPAN = "rag.answer.stream"


@pytest.fixture
def channel(stack: Stack) -> Iterator[grpc.Channel]:
    """A plaintext channel to the gateway's gRPC port."""
    with grpc.insecure_channel(f"127.0.0.1:{stack.config.ports.gateway_grpc}") as opened:
        yield opened


def _context(stack: Stack) -> tuple[str, str, str, list[tuple[str, str]]]:
    """Return a new trace id, client span id, baggage probe and the call's metadata."""
    trace_id, client_span, probe = secrets.token_hex(16), secrets.token_hex(8), uuid.uuid4().hex
    metadata = [
        ("authorization", f"Bearer {stack.secrets.service_token}"),
        ("traceparent", f"00-{trace_id}-{client_span}-01"),
        ("tracestate", TRACESTATE),
        ("baggage", f"tenant=acme,migration.probe={probe}"),
    ]
    return trace_id, client_span, probe, metadata


def _wait(
    stack: Stack, poll: Callable[..., Any], trace_id: str, service: str, *names: str
) -> Observed:
    """Poll until the trace has the gateway -> service gRPC edge and spans named ``names``."""
    reader = TraceReader(f"http://127.0.0.1:{stack.config.ports.traces}")

    def check() -> Observed | None:
        observed = Observed(reader.spans(trace_id), {("gateway", service, "grpc")})
        present = {span["name"] for span in observed.spans}
        return observed if observed and set(names) <= present else None

    found: Observed = poll(check, seconds=20)
    return found


def _assert_continued(trace: Observed, entry: Span, client_span: str, probe: str) -> None:
    gateway = trace.gateway()
    assert gateway["parent_span_id"] == client_span, "the gateway continues the client's trace"
    assert entry["parent_span_id"] == gateway["span_id"]
    assert entry["trace_state"] == TRACESTATE
    assert entry["attributes"]["migration.probe"] == probe
    assert "tenant" not in entry["attributes"]


def test_unary_call_through_the_gateway_continues_the_trace(
    stack: Stack, channel: grpc.Channel, poll: Callable[..., Any]
) -> None:
    trace_id, client_span, probe, metadata = _context(stack)

    customer = core_pb2_grpc.CoreServiceStub(channel).GetCustomer(
        core_pb2.GetCustomerRequest(id=1), metadata=metadata, timeout=10
    )

    assert customer.id == 1
    trace = _wait(stack, poll, trace_id, "core")
    entry = trace.entry("core", "grpc")
    assert entry["attributes"]["rpc.method"] == "GetCustomer"
    _assert_continued(trace, entry, client_span, probe)
    queries = [s for s in trace.children(entry) if s["attributes"].get("db.system")]
    assert queries, "core's queries are spans inside the call"


def test_server_streaming_call_through_the_gateway_continues_the_trace(
    stack: Stack, channel: grpc.Channel, poll: Callable[..., Any]
) -> None:
    trace_id, client_span, probe, metadata = _context(stack)
    request = rag_pb2.AnswerRequest(question="How do I get a refund?", k=2)

    events = list(rag_pb2_grpc.RagServiceStub(channel).Answer(request, metadata=metadata))

    assert events[-1].WhichOneof("event") == "done", events[-1]
    assert any(event.WhichOneof("event") == "token" for event in events)
    trace = _wait(stack, poll, trace_id, "rag", STREAM_SPAN)
    entry = trace.entry("rag", "grpc")
    assert entry["attributes"]["rpc.method"] == "Answer"
    _assert_continued(trace, entry, client_span, probe)
    (stream,) = [s for s in trace.spans if s["name"] == STREAM_SPAN]
    assert stream["parent_span_id"] == entry["span_id"]
    assert [e["name"] for e in stream["events"]].count("first_token") == 1
    assert stream["trace_state"] == TRACESTATE
