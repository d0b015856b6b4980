"""With setup_tracing, tracestate and baggage cross a real gRPC hop and a real httpx hop.

Each probe runs in a fresh interpreter because setup_tracing installs process-wide state. The gRPC
server and client are real (instrumented by setup_tracing); the HTTP server extracts the context
the way every web framework instrumentation does, so the check is on what httpx puts on the wire.
"""

import json
import subprocess
import sys
import textwrap
from typing import Any

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"

_PROBE = textwrap.dedent(
    """
    import json, sys, threading
    from concurrent import futures
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import grpc, httpx
    from opentelemetry import context, propagate, trace
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind
    from strangler_shared import setup_tracing

    exporter = InMemorySpanExporter()
    provider = setup_tracing("probe", exporter=exporter)
    tracer = trace.get_tracer("probe")

    def echo(request, context):
        return request

    def repeat(request, context):
        yield from (request, request)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("probe.Echo", {
        "Say": grpc.unary_unary_rpc_method_handler(echo),
        "Repeat": grpc.unary_stream_rpc_method_handler(repeat),
    }),))
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            token = context.attach(propagate.extract(dict(self.headers.items())))
            tracer.start_span("GET /echo", kind=SpanKind.SERVER).end()
            context.detach(token)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()

    incoming = propagate.extract({
        "traceparent": sys.argv[1],
        "tracestate": "vendor=abc,other=1",
        "baggage": "tenant=acme,migration.route=search,migration.bucket=3,migration.fallback=true",
    })
    # Like every server instrumentation: attach the extracted context (baggage included), then
    # start the entry span in it.
    context.attach(incoming)
    with tracer.start_as_current_span("entry", kind=SpanKind.SERVER):
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            channel.unary_unary("/probe.Echo/Say")(b"hi", timeout=5)
            assert list(channel.unary_stream("/probe.Echo/Repeat")(b"hi", timeout=5)) == [b"hi"] * 2
        httpx.get(f"http://127.0.0.1:{http.server_address[1]}/echo", timeout=5)
    server.stop(None)
    http.shutdown()
    provider.force_flush()
    print(json.dumps([
        {
            "name": s.name,
            "kind": s.kind.name,
            "span_id": format(s.context.span_id, "016x"),
            "trace_id": format(s.context.trace_id, "032x"),
            "parent": format(s.parent.span_id, "016x") if s.parent else None,
            "parent_remote": bool(s.parent and s.parent.is_remote),
            "tracestate": s.context.trace_state.to_header(),
            "attributes": dict(s.attributes or {}),
        }
        for s in exporter.get_finished_spans()
    ]))
    """
)


def _spans() -> dict[tuple[str, str], dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, f"00-{TRACE_ID}-{CLIENT_SPAN}-01"],
        env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {(span["name"], span["kind"]): span for span in json.loads(completed.stdout)}


def _migration(span: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in span["attributes"].items() if k.startswith("migration.")}


def test_context_crosses_grpc_and_httpx_hops_and_only_entries_get_the_decision() -> None:
    """Unary and server-streaming gRPC, and httpx: the context arrives, typed, on entries only."""
    spans = _spans()
    entry = spans[("entry", "SERVER")]
    grpc_client = spans[("/probe.Echo/Say", "CLIENT")]
    grpc_server = spans[("/probe.Echo/Say", "SERVER")]
    stream_client = spans[("/probe.Echo/Repeat", "CLIENT")]
    stream_server = spans[("/probe.Echo/Repeat", "SERVER")]
    http_client = next(s for (name, kind), s in spans.items() if kind == "CLIENT" and "GET" in name)
    http_server = spans[("GET /echo", "SERVER")]
    decision = {"migration.route": "search", "migration.bucket": 3, "migration.fallback": True}

    assert {span["trace_id"] for span in spans.values()} == {TRACE_ID}
    assert entry["parent"] == CLIENT_SPAN and entry["parent_remote"]
    assert grpc_server["parent"] == grpc_client["span_id"] and grpc_server["parent_remote"]
    assert stream_server["parent"] == stream_client["span_id"] and stream_server["parent_remote"]
    assert http_server["parent"] == http_client["span_id"] and http_server["parent_remote"]
    for span in (entry, grpc_server, stream_server, http_server):
        assert _migration(span) == decision, span["name"]
        assert "tenant" not in span["attributes"]
    for span in (grpc_client, stream_client, http_client):
        assert _migration(span) == {}, span["name"]
    assert {span["tracestate"] for span in spans.values()} == {"vendor=abc,other=1"}
