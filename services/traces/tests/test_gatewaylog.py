"""One access-log line of the gateway becomes the gateway's SERVER span of the request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tracestore.gatewaylog import InvalidLogLineError, span_from_line
from tracestore.models import SpanRecord

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
CLIENT = "b7ad6b7169203331"


def gateway_line(**overrides: Any) -> str:
    """Return an access-log line as the gateway writes it, with overrides."""
    entry: dict[str, Any] = {
        "time": "2026-11-22T02:59:25.250+00:00",
        "request_id": TRACE,
        "trace_id": TRACE,
        "span_id": SPAN,
        "parent_span_id": "",
        "method": "GET",
        "uri": "/api/search?q=refund&k=3",
        "status": 200,
        "route": "search",
        "mode": "canary",
        "target": "new",
        "bucket": "42",
        "fallback": "false",
        "upstream_addr": "127.0.0.1:8001",
        "upstream_status": "200",
        "request_time": 0.051,
        "upstream_response_time": "0.050",
        "user_agent": "curl/8.0",
        "config": "cfg-1a2b",
        "sampled": True,
    }
    entry.update(overrides)
    return json.dumps(entry)


def span_of(line: str) -> SpanRecord:
    span = span_from_line(line)
    assert span is not None
    return span


def _nanos(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def test_line_becomes_a_gateway_server_span_with_the_decision() -> None:
    span = span_of(gateway_line())

    assert (span.trace_id, span.span_id, span.parent_span_id) == (TRACE, SPAN, None)
    assert (span.service_name, span.kind, span.name) == ("gateway", "SERVER", "GET search")
    assert span.end_unix_nano == _nanos("2026-11-22T02:59:25.250+00:00")
    assert span.end_unix_nano - span.start_unix_nano == 51_000_000
    assert span.status.code == "UNSET"
    assert span.resource_attributes == {"service.name": "gateway"}
    assert span.attributes == {
        "http.request.method": "GET",
        "url.path": "/api/search",
        "url.query": "q=refund&k=3",
        "http.response.status_code": 200,
        "migration.route": "search",
        "migration.mode": "canary",
        "migration.target": "new",
        "migration.bucket": 42,
        "migration.fallback": False,
        "strangler.upstream.address": "127.0.0.1:8001",
        "strangler.upstream.status": "200",
        "strangler.upstream.response_time": "0.050",
        "strangler.request_id": TRACE,
        "strangler.gateway.config": "cfg-1a2b",
        "user_agent.original": "curl/8.0",
    }


def test_client_parent_fallback_and_5xx_error_are_kept() -> None:
    line = gateway_line(
        parent_span_id=CLIENT.upper(),
        status=502,
        fallback=True,
        target="legacy",
        bucket="",
        upstream_addr="127.0.0.1:8001, 127.0.0.1:8000",
    )

    span = span_of(line)

    assert span.parent_span_id == CLIENT
    assert span.status.code == "ERROR"
    assert span.attributes["error.type"] == "502"
    assert span.attributes["migration.fallback"] is True
    assert span.attributes["migration.target"] == "legacy"
    assert "migration.bucket" not in span.attributes
    assert span.attributes["strangler.upstream.address"] == "127.0.0.1:8001, 127.0.0.1:8000"


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2026-11-22T02:59:25+00:00", "2026-11-22T02:59:25+00:00"),
        ("2026-11-22T02:59:25.123Z", "2026-11-22T02:59:25.123+00:00"),
        ("2026-11-22T03:59:25.123+01:00", "2026-11-22T02:59:25.123+00:00"),
    ],
)
def test_iso_times_with_or_without_fraction_and_any_offset(time: str, expected: str) -> None:
    assert span_of(gateway_line(time=time)).end_unix_nano == _nanos(expected)


def test_epoch_seconds_are_accepted_as_time() -> None:
    moment = datetime(2026, 11, 22, 2, 59, 25, 500_000, tzinfo=UTC)

    span = span_of(gateway_line(time=moment.timestamp(), request_time="0.5"))

    assert span.end_unix_nano == _nanos(moment.isoformat())
    assert span.end_unix_nano - span.start_unix_nano == 500_000_000


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        (gateway_line(trace_id=""), "trace_id"),
        (gateway_line(trace_id="0" * 32), "trace_id"),
        (gateway_line(span_id="xyz"), "span_id"),
        (gateway_line(parent_span_id="123"), "parent_span_id"),
        (gateway_line(time="yesterday"), "ISO 8601"),
        (gateway_line(request_time="-1"), "duration"),
    ],
    ids=["text", "array", "no-trace", "zero-trace", "bad-span", "bad-parent", "bad-time", "neg"],
)
def test_lines_that_cannot_be_spans_are_refused(line: str, message: str) -> None:
    with pytest.raises(InvalidLogLineError, match=message):
        span_from_line(line)


@pytest.mark.parametrize("uri", ["/traces/", "/traces/trace/4bf9?x=1", "/traces"])
def test_requests_for_the_trace_pages_are_not_turned_into_spans(uri: str) -> None:
    assert span_from_line(gateway_line(uri=uri, route="traces")) is None


def test_a_trace_the_gateway_did_not_sample_makes_no_span() -> None:
    assert span_from_line(gateway_line(sampled=False)) is None
    assert span_of(gateway_line(sampled=True)).trace_id == TRACE


def test_a_line_without_the_sampled_field_is_a_span_as_before_it() -> None:
    entry = json.loads(gateway_line())
    del entry["sampled"]
    assert span_of(json.dumps(entry)).trace_id == TRACE


def test_a_path_that_only_starts_like_the_pages_is_a_span() -> None:
    assert span_of(gateway_line(uri="/tracesearch")).attributes["url.path"] == "/tracesearch"
