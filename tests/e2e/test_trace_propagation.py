"""Real traces through the running stack, checked as directed edges between services.

Like the OpenTelemetry demo's trace tests (which replaced snapshots with edge checks): each test
sends real requests through the gateway, polls the trace store until the expected edges have
arrived (every process exports on its own schedule), then asserts who called whom, over which
protocol, with which routing decision, and what is absent. An edge is (caller service, callee
service, protocol): the callee's span is a SERVER span whose parent is a span of the caller. The
gateway's span comes from its access log, so a trace starts at the gateway.
"""

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_testing.tracestore import Edge, Observed, Span, TraceReader, protocol

pytestmark = pytest.mark.stack

GATEWAY_TO_CORE: Edge = ("gateway", "core", "http")
GATEWAY_TO_RAG: Edge = ("gateway", "rag", "http")
CANARY_USERS = 40
CANARY_PERCENT = 50


def _spans(stack: Stack, trace_id: str) -> list[Span]:
    return TraceReader(f"http://127.0.0.1:{stack.config.ports.traces}").spans(trace_id)


@pytest.fixture
def trace_of(stack: Stack, poll: Callable[..., Any]) -> Callable[..., Observed]:
    """Return a function that waits until a trace has the expected edges, and returns it."""

    def wait(trace_id: str, *expected: Edge) -> Observed:
        observed: Observed = poll(
            lambda: Observed(_spans(stack, trace_id), set(expected)), seconds=20
        )
        return observed

    return wait


@pytest.fixture
def search_route(set_route: Callable[..., None]) -> Iterator[Callable[..., None]]:
    """Change the search route's mode for one test, and put it back to legacy after."""
    yield lambda mode, percent=None: set_route("search", mode, percent)
    set_route("search", "legacy")


def _trace_id(response: httpx.Response) -> str:
    """Return the trace id the gateway started for a request that came without one."""
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and int(request_id, 16), request_id
    return request_id


def _search(gateway: httpx.Client, user: str = "trace-user", **headers: str) -> httpx.Response:
    response = gateway.get(
        "/api/search", params={"q": "refund", "k": 3}, headers={"X-User-Id": user, **headers}
    )
    assert response.status_code == 200, response.text
    return response


def _decision(span: Span) -> dict[str, Any]:
    return {k: v for k, v in span["attributes"].items() if k.startswith("migration.")}


def test_legacy_route_goes_gateway_to_core_and_never_to_rag(
    gateway: httpx.Client, search_route: Callable[..., None], trace_of: Callable[..., Observed]
) -> None:
    search_route("legacy")

    response = _search(gateway)
    trace = trace_of(_trace_id(response), GATEWAY_TO_CORE)

    assert response.headers["x-served-by"] == "legacy"
    assert "rag" not in trace.services()
    assert trace.gateway()["parent_span_id"] is None, "the trace starts at the gateway"
    decision = _decision(trace.entry("core"))
    assert decision["migration.route"] == "search"
    assert decision["migration.mode"] == "legacy"
    assert decision["migration.target"] == "legacy"
    assert decision["migration.fallback"] is False
    assert _decision(trace.gateway()).items() >= decision.items()
    # Every process, the gateway included, names itself by the same resource conventions.
    gateway_resource = trace.gateway()["resource_attributes"]
    core_resource = trace.entry("core")["resource_attributes"]
    assert (gateway_resource["service.name"], core_resource["service.name"]) == ("gateway", "core")
    for key in ("deployment.environment.name", "deployment.environment"):
        assert gateway_resource[key] == core_resource[key] == "local", key
    assert gateway_resource["service.version"] and core_resource["service.version"]


def test_migrated_route_goes_gateway_to_rag_and_core_never_serves_it(
    gateway: httpx.Client, search_route: Callable[..., None], trace_of: Callable[..., Observed]
) -> None:
    search_route("migrated")

    response = _search(gateway)
    trace = trace_of(_trace_id(response), GATEWAY_TO_RAG)

    assert response.headers["x-served-by"] == "new"
    core_http = [
        s
        for s in trace.spans
        if s["service_name"] == "core" and s["kind"] == "SERVER" and protocol(s) == "http"
    ]
    assert core_http == [], "no core HTTP server span on a migrated route"
    decision = _decision(trace.entry("rag"))
    assert decision["migration.mode"] == "migrated"
    assert decision["migration.target"] == "new"
    assert isinstance(decision["migration.bucket"], int)


def test_delegation_chain_crosses_http_and_grpc_with_the_decision(
    gateway: httpx.Client, trace_of: Callable[..., Observed]
) -> None:
    response = gateway.get("/api/customers/1/suggestions", params={"k": 3})
    assert response.status_code == 200, response.text

    trace = trace_of(
        _trace_id(response),
        GATEWAY_TO_CORE,
        ("core", "rag", "http"),
        ("rag", "core", "grpc"),
    )

    core_grpc = trace.entry("core", "grpc")
    assert core_grpc["attributes"]["rpc.method"] == "GetCustomer"
    # The gateway's baggage crossed core -> rag (httpx) and rag -> core (gRPC).
    for span in (trace.entry("core"), trace.entry("rag"), core_grpc):
        assert _decision(span)["migration.route"] == "catch-all", span["name"]
    # Core's queries are spans inside the call that made them.
    queries = [s for s in trace.children(core_grpc) if s["attributes"].get("db.system")]
    assert queries, f"no database span under {core_grpc['name']}"
    assert {s["kind"] for s in queries} == {"CLIENT"}
    assert any("customers_customer" in s["attributes"]["db.statement"] for s in queries)


def test_canary_sends_both_kinds_of_traces_in_proportion(
    gateway: httpx.Client, search_route: Callable[..., None], trace_of: Callable[..., Observed]
) -> None:
    search_route("canary", CANARY_PERCENT)

    # Fixed user keys: the split is a hash of the key, so the outcome is the same on every run.
    responses = [_search(gateway, f"canary-user-{n}") for n in range(CANARY_USERS)]

    served_new = 0
    for response in responses:
        side = response.headers["x-served-by"]
        callee = {"new": "rag", "legacy": "core"}[side]
        trace = trace_of(_trace_id(response), ("gateway", callee, "http"))
        other = {"rag": "core", "core": "rag"}[callee]
        assert ("gateway", other, "http") not in trace.found
        decision = _decision(trace.entry(callee))
        assert decision["migration.mode"] == "canary"
        assert decision["migration.target"] == side
        assert decision["migration.bucket"] == int(response.headers["x-migration-bucket"])
        served_new += side == "new"
    expected = CANARY_USERS * CANARY_PERCENT / 100
    assert 0 < served_new < CANARY_USERS, "both kinds of traces appear"
    assert abs(served_new - expected) <= 0.2 * CANARY_USERS, served_new


def test_valid_client_traceparent_is_continued(
    gateway: httpx.Client, search_route: Callable[..., None], trace_of: Callable[..., Observed]
) -> None:
    search_route("legacy")
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)

    _search(gateway, traceparent=f"00-{trace_id}-{client_span}-01")
    trace = trace_of(trace_id, GATEWAY_TO_CORE)

    gateway_span = trace.gateway()
    assert {span["trace_id"] for span in trace.spans} == {trace_id}
    assert gateway_span["parent_span_id"] == client_span
    assert gateway_span["span_id"] != client_span, "the gateway is a hop of its own"
    assert trace.entry("core")["parent_span_id"] == gateway_span["span_id"]


_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_SPAN_ID = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "traceparent",
    [
        "not-a-traceparent",
        f"00-{'0' * 32}-{_SPAN_ID}-01",
        f"00-{_TRACE_ID}-{'0' * 16}-01",
        f"00-{_TRACE_ID.upper()}-{_SPAN_ID}-01",
        f"00-{_TRACE_ID}-{_SPAN_ID}",
    ],
    ids=["garbage", "zero-trace-id", "zero-span-id", "uppercase", "no-flags"],
)
def test_malformed_traceparent_is_replaced(
    stack: Stack,
    gateway: httpx.Client,
    search_route: Callable[..., None],
    trace_of: Callable[..., Observed],
    traceparent: str,
) -> None:
    search_route("legacy")
    response = _search(gateway, traceparent=traceparent)
    trace_id = _trace_id(response)
    trace = trace_of(trace_id, GATEWAY_TO_CORE)

    assert trace.gateway()["parent_span_id"] is None, "a new trace, started at the gateway"
    assert trace.entry("core")["parent_span_id"] == trace.gateway()["span_id"]
    assert _spans(stack, _TRACE_ID) == [], "nothing continued the malformed context"


def _delegate_with_context(
    gateway: httpx.Client, trace_of: Callable[..., Observed], **headers: str
) -> tuple[Observed, list[Span]]:
    """Send the suggestions request (core -> rag -> core) with a client trace context."""
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    headers["traceparent"] = f"00-{trace_id}-{client_span}-01"
    response = gateway.get("/api/customers/1/suggestions", params={"k": 3}, headers=headers)
    assert response.status_code == 200, response.text
    trace = trace_of(trace_id, GATEWAY_TO_CORE, ("core", "rag", "http"), ("rag", "core", "grpc"))
    return trace, [trace.entry("core"), trace.entry("rag"), trace.entry("core", "grpc")]


def test_client_baggage_survives_http_and_grpc_hops(
    gateway: httpx.Client, trace_of: Callable[..., Observed]
) -> None:
    probe = uuid.uuid4().hex
    # A client entry in the migration namespace, which the shared span processor records, among
    # entries it ignores; the gateway appends its decision after them.
    baggage = f"tenant=acme,migration.probe={probe}"

    _, entries = _delegate_with_context(gateway, trace_of, baggage=baggage)

    for span in entries:
        decision = _decision(span)
        assert decision["migration.probe"] == probe, span["name"]
        assert decision["migration.route"] == "catch-all", span["name"]
        assert "tenant" not in span["attributes"]


def test_tracestate_survives_http_and_grpc_hops(
    gateway: httpx.Client, trace_of: Callable[..., Observed]
) -> None:
    tracestate = "strangler=t61rcWkgMzE,vendor=opaque-value"

    trace, entries = _delegate_with_context(gateway, trace_of, tracestate=tracestate)

    for span in entries:
        assert span["trace_state"] == tracestate, span["name"]
    service_spans = [s for s in trace.spans if s["service_name"] != "gateway"]
    assert {span["trace_state"] for span in service_spans} == {tracestate}


def _stripe_delivery(secret: str, customer: str) -> tuple[bytes, dict[str, str]]:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "customer.subscription.updated",
        "data": {"object": {"object": "subscription", "customer": customer, "status": "active"}},
    }
    body = json.dumps(event).encode()
    t = int(time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={t},v1={digest}", "Content-Type": "application/json"}
    return body, headers


def _delivered(stack: Stack, trace_id: str) -> Observed | None:
    """Return the trace once it has the intake, the delivery span and the call to core."""
    expected = {("gateway", "webhooks", "http"), ("webhooks", "core", "grpc")}
    trace = Observed(_spans(stack, trace_id), expected)
    # The delivery span ends after core's answer, so it may be exported after the call's spans.
    return trace if trace and any(s["kind"] == "CONSUMER" for s in trace.spans) else None


def test_webhook_forward_is_in_the_intake_trace_and_linked_to_it(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    body, headers = _stripe_delivery(stack.secrets.stripe_webhook_secret, "cus_unknown_trace")

    response = gateway.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 202, response.text

    # The relay delivers after the answer; its spans join the intake's trace when they arrive.
    trace: Observed = poll(lambda: _delivered(stack, _trace_id(response)), seconds=20)
    intake = trace.entry("webhooks")
    [delivery] = [s for s in trace.spans if s["kind"] == "CONSUMER"]
    assert delivery["service_name"] == "webhooks"
    assert delivery["parent_span_id"] == intake["span_id"]
    assert [(link["trace_id"], link["span_id"]) for link in delivery["links"]] == [
        (intake["trace_id"], intake["span_id"])
    ]
    assert delivery["attributes"]["messaging.message.id"] == json.loads(body)["id"]
    # webhooks CONSUMER -> webhooks gRPC CLIENT -> core gRPC SERVER (ApplyEvent).
    core_grpc = trace.entry("core", "grpc")
    assert core_grpc["attributes"]["rpc.method"] == "ApplyEvent"
    [client] = [s for s in trace.spans if s["span_id"] == core_grpc["parent_span_id"]]
    assert (client["service_name"], client["kind"]) == ("webhooks", "CLIENT")
    assert client["parent_span_id"] == delivery["span_id"]
    # The stored baggage was restored: the routing decision is on both entry spans.
    for span in (intake, delivery, core_grpc):
        assert _decision(span)["migration.route"] == "stripe-webhooks", span["name"]
