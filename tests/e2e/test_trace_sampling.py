"""The gateway decides which traces are sampled, and every service and the trace store follow it.

With ``trace_sample_percent = 0`` in the route table, a request that arrives without a
``traceparent`` is sent on unsampled: core, rag (over HTTP) and core again (over gRPC) record
nothing, and the trace store makes no gateway span from its access-log line. A request that
arrives sampled is still one whole trace.
"""

import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from devstack import SPAN_EXPORT_DELAY_MS, Stack
from strangler_testing.tracestore import TraceReader

pytestmark = pytest.mark.stack

SUGGESTIONS = "/api/customers/1/suggestions?k=3"


@pytest.fixture
def nothing_sampled(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any]
) -> Iterator[None]:
    """Set the gateway's share of sampled new traces to 0 for one test, then back."""
    table = stack.config.routes
    shipped = table.read_text()
    edited, found = re.subn(r"(?m)^trace_sample_percent = .*$", "trace_sample_percent = 0", shipped)
    assert found == 1, "the route table names its share of sampled traces"
    try:
        table.write_text(edited)
        version = stack.apply_routes()
        poll(lambda: _config(gateway) == version)
        yield
    finally:
        # Back to the table the other tests share, whatever happened above.
        table.write_text(shipped)
        version = stack.apply_routes()
        poll(lambda: _config(gateway) == version)


def _config(gateway: httpx.Client) -> str:
    """Return the id of the config the gateway answers with."""
    return gateway.get("/healthz").headers["x-gateway-config"]


def test_a_trace_the_gateway_does_not_sample_is_recorded_nowhere(
    stack: Stack, gateway: httpx.Client, poll: Callable[..., Any], nothing_sampled: None
) -> None:
    reader = TraceReader(f"http://127.0.0.1:{stack.config.ports.traces}")
    reply = gateway.get(SUGGESTIONS)
    assert reply.status_code == 200, reply.text
    unsampled = reply.headers["x-request-id"]  # the trace id of a trace the gateway starts
    answered = time.monotonic()

    # A sampled request after it, through the same processes: once its trace is whole and every
    # process has had an export delay (twice over) since the unsampled one answered, whatever
    # that one made would have reached the store too.
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    reply = gateway.get(SUGGESTIONS, headers={"traceparent": f"00-{trace_id}-{client_span}-01"})
    assert reply.status_code == 200, reply.text
    settled = 2 * SPAN_EXPORT_DELAY_MS / 1000
    spans = poll(
        lambda: (
            time.monotonic() - answered > settled
            and (found := reader.spans(trace_id))
            and {span["service_name"] for span in found} >= {"gateway", "core", "rag"}
            and found
        ),
        seconds=20,
    )
    assert any(span["parent_span_id"] == client_span for span in spans)
    assert reader.spans(unsampled) == [], "no service and no gateway span for an unsampled trace"
