"""One request through the gateway is ONE trace across the gateway, core, rag and core (gRPC).

GET /api/customers/{id}/suggestions makes core call rag over HTTP (httpx), and rag call core's
CoreService.GetCustomer over gRPC. The test asserts the directed edges between the services' spans,
polling the trace store until they arrive.
"""

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_testing.tracestore import TraceReader

pytestmark = pytest.mark.stack

# Replaced by http.request.method, url.full / url.path / url.query, http.response.status_code,
# network.protocol.version and client.address in the stable HTTP conventions.
DEPRECATED_HTTP_ATTRIBUTES = {
    "http.method", "http.url", "http.target", "http.status_code", "http.flavor", "net.peer.ip",
}  # fmt: skip


def _kind(span: dict[str, Any]) -> str:
    return str(span["kind"]).lower().removeprefix("span_kind_")


def _one(spans: list[dict[str, Any]], description: str, **match: Any) -> dict[str, Any]:
    found = [span for span in spans if all(test(span) for test in match.values())]
    assert len(found) == 1, f"expected one {description}, found {len(found)}: {found}"
    return found[0]


def _trace(stack: Stack, trace_id: str) -> list[dict[str, Any]]:
    return TraceReader(f"http://127.0.0.1:{stack.config.ports.traces}").spans(trace_id)


def _url(span: dict[str, Any]) -> str:
    return str(span["attributes"].get("url.full", ""))


def _complete(spans: list[dict[str, Any]], client_span: str) -> bool:
    """Whether every process has exported its part (each exports on its own schedule)."""
    kinds = {(s["service_name"], _kind(s), s["attributes"].get("rpc.method")) for s in spans}
    has_root = any(s["parent_span_id"] == client_span for s in spans)
    # core's HTTP span ends last (after rag answered), so it may arrive in a later export.
    expected = {
        ("core", "server", None),
        ("core", "server", "GetCustomer"),
        ("rag", "server", None),
    }
    return has_root and expected <= kinds


def _suggestions_trace(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> tuple[str, str, list[dict[str, Any]]]:
    """Ask for suggestions through the gateway; return the trace id, the caller's span, spans."""
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    response = gateway.get(
        "/api/customers/1/suggestions",
        params={"k": 3},
        headers={"traceparent": f"00-{trace_id}-{client_span}-01"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"]
    spans = poll(
        lambda: (found := _trace(stack, trace_id)) and _complete(found, client_span) and found,
        seconds=20,
    )
    return trace_id, client_span, spans


def test_suggestions_request_is_one_trace_across_three_processes(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    trace_id, client_span, spans = _suggestions_trace(stack, gateway, poll)

    assert {span["trace_id"] for span in spans} == {trace_id}
    gateway_span = _one(
        spans,
        "gateway span (from its access log), child of the client's span",
        service=lambda s: s["service_name"] == "gateway",
        parent=lambda s: s["parent_span_id"] == client_span,
    )
    core_http = _one(
        spans,
        "core HTTP server span",
        service=lambda s: s["service_name"] == "core",
        kind=lambda s: _kind(s) == "server",
        parent=lambda s: s["parent_span_id"] == gateway_span["span_id"],
    )
    core_to_rag = _one(
        spans,
        "core's httpx call to rag",
        service=lambda s: s["service_name"] == "core",
        kind=lambda s: _kind(s) == "client",
        url=lambda s: "/internal/customers/" in _url(s),
    )
    rag_http = _one(
        spans,
        "rag HTTP server span",
        service=lambda s: s["service_name"] == "rag",
        kind=lambda s: _kind(s) == "server",
    )
    rag_to_core = _one(
        spans,
        "rag's gRPC call to core",
        service=lambda s: s["service_name"] == "rag",
        kind=lambda s: _kind(s) == "client",
        method=lambda s: s["attributes"].get("rpc.method") == "GetCustomer",
    )
    core_grpc = _one(
        spans,
        "core gRPC server span",
        service=lambda s: s["service_name"] == "core",
        kind=lambda s: _kind(s) == "server",
        method=lambda s: s["attributes"].get("rpc.method") == "GetCustomer",
    )

    by_id = {span["span_id"]: span for span in spans}

    def ancestors(span: dict[str, Any]) -> list[str]:
        chain = []
        while span["parent_span_id"] in by_id:
            span = by_id[span["parent_span_id"]]
            chain.append(span["span_id"])
        return chain

    assert core_http["span_id"] in ancestors(core_to_rag)
    assert rag_http["parent_span_id"] == core_to_rag["span_id"]
    assert rag_http["span_id"] in ancestors(rag_to_core)
    assert core_grpc["parent_span_id"] == rag_to_core["span_id"]
    instances = {
        span["resource_attributes"]["service.instance.id"]
        for span in (core_http, rag_http, core_grpc)
    }
    assert len(instances) == 3, "core HTTP, rag and core gRPC are three processes"
    db_spans = [
        s
        for s in spans
        if s["parent_span_id"] == core_grpc["span_id"] and s["attributes"].get("db.system")
    ]
    assert db_spans, "core's gRPC handler queries the database inside its span"


def test_every_http_span_of_the_trace_speaks_the_stable_http_conventions(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> None:
    _, _, spans = _suggestions_trace(stack, gateway, poll)

    # The gRPC and database spans have conventions of their own.
    http = [
        span
        for span in spans
        if _kind(span) in ("server", "client")
        and not {"rpc.system", "db.system"} & span["attributes"].keys()
    ]
    sides = {(span["service_name"], _kind(span)) for span in http}
    expected = {("gateway", "server"), ("core", "server"), ("core", "client"), ("rag", "server")}
    assert expected <= sides
    for span in http:
        attributes, where = span["attributes"], f"{span['service_name']} {span['name']}"
        assert attributes.get("http.request.method") == "GET", where
        assert attributes.get("http.response.status_code") == 200, where
        assert not DEPRECATED_HTTP_ATTRIBUTES & attributes.keys(), where
