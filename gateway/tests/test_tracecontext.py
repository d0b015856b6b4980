"""The trace starts at the gateway: W3C trace context made, kept or replaced; the JSON access log.

Asserted on what the upstream receives and on the access-log line, the two things the services and
the trace store (which builds the gateway's span from the line) rely on.
"""

import re
from typing import Any

import pytest
from strangler_testing.gateway import RunningGateway

from .conftest import CANARY_30, MakeGateway

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# The access log's format: every key, and the JSON type of each.
LOG_TYPES: dict[str, type | tuple[type, ...]] = {
    "time": str, "request_id": str, "trace_id": str, "span_id": str, "parent_span_id": str,
    "method": str, "uri": str, "status": int, "route": str, "mode": str, "target": str,
    "bucket": int, "fallback": bool, "upstream_addr": str, "upstream_status": str,
    "request_time": (int, float), "upstream_response_time": str, "user_agent": str, "config": str,
    "unit": str, "split": int, "override": str, "sampled": bool,
}  # fmt: skip


def _send(gateway: RunningGateway, **headers: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return what the upstream received and the request's access-log line."""
    before = len(gateway.access_log_entries(at_least=0, timeout=0))
    reply = gateway.fetch("/api/search?q=x", headers=headers)
    assert reply.status == 200
    line = gateway.access_log_entries(at_least=before + 1)[-1]
    assert line["request_id"] == reply.headers["x-request-id"]
    return reply.json()["headers"], line


def test_without_a_traceparent_the_request_id_becomes_the_trace_id(
    make_gateway: MakeGateway,
) -> None:
    received, line = _send(make_gateway())
    trace_id, span_id, flags = TRACEPARENT.fullmatch(received["traceparent"]).groups()  # type: ignore[union-attr]
    request_id = received["x-request-id"]
    assert (trace_id, flags) == (request_id, "01")
    assert span_id == request_id[16:], "the gateway's span id is derived from the request id"
    assert (line["trace_id"], line["span_id"], line["parent_span_id"]) == (trace_id, span_id, "")
    assert line["sampled"] is True, "by default every trace the gateway starts is sampled"


def test_the_gateway_samples_its_share_of_the_traces_it_starts_and_logs_which(
    make_gateway: MakeGateway,
) -> None:
    gateway = make_gateway(gateway="trace_sample_percent = 25")
    sent = 400
    flags = {}
    for _ in range(sent):
        reply = gateway.fetch("/api/search?q=x")
        traceparent = TRACEPARENT.fullmatch(reply.json()["headers"]["traceparent"])
        assert traceparent is not None
        flags[reply.headers["x-request-id"]] = traceparent.group(3)
    lines = gateway.access_log_entries(at_least=sent)
    sampled = sum(1 for value in flags.values() if value == "01")
    # 25 % of 400 is 100, give or take 8.7 (one standard deviation); 60-140 is 4.6 either side.
    assert set(flags.values()) == {"00", "01"} and 60 <= sampled <= 140, sampled
    assert all(line["sampled"] is (flags[line["request_id"]] == "01") for line in lines)


@pytest.mark.parametrize(
    ("share", "client_flags", "flags"),
    [("0", "", "00"), ("0", "01", "01"), ("100", "00", "00"), ("0.01", "03", "03")],
)
def test_a_client_s_traceparent_keeps_its_flag_whatever_the_gateway_s_share(
    make_gateway: MakeGateway, share: str, client_flags: str, flags: str
) -> None:
    gateway = make_gateway(gateway=f"trace_sample_percent = {share}")
    headers = (
        {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-{client_flags}"} if client_flags else {}
    )
    received, line = _send(gateway, **headers)
    assert TRACEPARENT.fullmatch(received["traceparent"]).group(3) == flags  # type: ignore[union-attr]
    assert line["sampled"] is (int(flags, 16) & 1 == 1), "the sampled bit, whatever the other flags"


@pytest.mark.parametrize("flags", ["01", "00"])
def test_a_valid_traceparent_is_continued_with_the_gateway_as_a_hop(
    make_gateway: MakeGateway, flags: str
) -> None:
    received, line = _send(make_gateway(), traceparent=f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-{flags}")
    trace_id, span_id, sent_flags = TRACEPARENT.fullmatch(received["traceparent"]).groups()  # type: ignore[union-attr]
    assert (trace_id, sent_flags) == (CLIENT_TRACE, flags)
    assert span_id not in (CLIENT_SPAN, "0" * 16)
    assert (line["trace_id"], line["span_id"]) == (CLIENT_TRACE, span_id)
    assert line["parent_span_id"] == CLIENT_SPAN


@pytest.mark.parametrize(
    ("traceparent", "flags"),
    [
        (f"01-{CLIENT_TRACE}-{CLIENT_SPAN}-01-what-comes-next", "01"),
        (f"cc-{CLIENT_TRACE}-{CLIENT_SPAN}-09", "01"),
        (f"01-{CLIENT_TRACE}-{CLIENT_SPAN}-02-extra", "00"),
    ],
)
def test_a_later_version_is_read_by_its_first_fields_and_sent_on_as_version_00(
    make_gateway: MakeGateway, traceparent: str, flags: str
) -> None:
    received, line = _send(make_gateway(), traceparent=traceparent, tracestate=STATE)
    trace_id, span_id, sent_flags = TRACEPARENT.fullmatch(received["traceparent"]).groups()  # type: ignore[union-attr]
    assert (trace_id, sent_flags) == (CLIENT_TRACE, flags), "only the sampled bit is carried over"
    assert (line["trace_id"], line["span_id"], line["parent_span_id"]) == (
        CLIENT_TRACE,
        span_id,
        CLIENT_SPAN,
    )
    assert received["tracestate"] == STATE, "the trace continues, so does its tracestate"


@pytest.mark.parametrize(
    "traceparent",
    [
        f"00-{CLIENT_TRACE.upper()}-{CLIENT_SPAN}-01",  # uppercase hex
        f"00-{'0' * 32}-{CLIENT_SPAN}-01",  # all-zero trace id
        f"00-{CLIENT_TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{CLIENT_TRACE}-{CLIENT_SPAN}-01",  # forbidden version
        f"ff-{CLIENT_TRACE}-{CLIENT_SPAN}-01-extra",  # forbidden version, later layout
        f"0A-{CLIENT_TRACE}-{CLIENT_SPAN}-01",  # uppercase version
        f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01-extra",  # version 00 has exactly four fields
        f"00-{CLIENT_TRACE[:-1]}-{CLIENT_SPAN}-01",  # short trace id
        f"01-{CLIENT_TRACE[:-1]}-{CLIENT_SPAN}-01-extra",  # short trace id, later version
        f"01-{'0' * 32}-{CLIENT_SPAN}-01",  # all-zero trace id, later version
        f"01-{CLIENT_TRACE}-{CLIENT_SPAN}-01x",  # later version: flags end or are followed by -
        f"01-{CLIENT_TRACE}-{CLIENT_SPAN}",  # later version, no flags
        "not a traceparent",
    ],
)
def test_an_invalid_traceparent_is_replaced_by_a_new_trace_without_its_tracestate(
    make_gateway: MakeGateway, traceparent: str
) -> None:
    received, line = _send(make_gateway(), traceparent=traceparent, tracestate=STATE)
    trace_id, _, flags = TRACEPARENT.fullmatch(received["traceparent"]).groups()  # type: ignore[union-attr]
    assert (trace_id, flags) == (received["x-request-id"], "01")
    assert (line["trace_id"], line["parent_span_id"]) == (trace_id, "")
    assert "tracestate" not in received, "the client's tracestate belongs to another trace"


def test_tracestate_passes_through_unchanged_with_a_valid_traceparent(
    make_gateway: MakeGateway,
) -> None:
    received, line = _send(make_gateway(), traceparent=f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01",
                           tracestate=STATE)  # fmt: skip
    trace_id, span_id, _ = TRACEPARENT.fullmatch(received["traceparent"]).groups()  # type: ignore[union-attr]
    assert received["tracestate"] == STATE
    assert (trace_id, span_id) == (CLIENT_TRACE, line["span_id"])
    assert span_id != CLIENT_SPAN, "the gateway's span replaces the client's as the parent"


def test_tracestate_without_a_traceparent_is_dropped(make_gateway: MakeGateway) -> None:
    received, _ = _send(make_gateway(), tracestate=STATE)
    assert "tracestate" not in received
    assert TRACEPARENT.fullmatch(received["traceparent"])


def test_baggage_keeps_the_client_entries_and_adds_the_routing_decision(
    make_gateway: MakeGateway,
) -> None:
    gateway = make_gateway(CANARY_30)
    received, line = _send(
        gateway, baggage="tenant=acme,migration.target=forged", Cookie="sf_uid=ana"
    )
    entries = received["baggage"].split(",")
    assert entries[:2] == ["tenant=acme", "migration.target=forged"]
    assert entries[2:] == [
        "migration.route=search",
        "migration.mode=canary",
        f"migration.target={line['target']}",
        f"migration.bucket={line['bucket']}",
        "migration.fallback=false",
    ], "the gateway's entries come last, so they win over a forged one"


def test_the_catch_all_carries_the_decision_too(make_gateway: MakeGateway) -> None:
    gateway = make_gateway()
    received = gateway.fetch("/api/customers/1").json()["headers"]
    assert (
        "migration.route=catch-all,migration.mode=legacy,migration.target=legacy"
        in (received["baggage"])
    )
    assert TRACEPARENT.fullmatch(received["traceparent"])


def test_the_access_log_line_has_every_field_with_its_type(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(CANARY_30)
    reply = gateway.fetch("/api/search?q=x", headers={"Cookie": "sf_uid=ana", "User-Agent": "t/1"})
    gateway.fetch("/somewhere/else")
    entries = gateway.access_log_entries(at_least=2)
    # nginx logs a request after answering it, so two workers may write the lines in either order.
    search = next(entry for entry in entries if entry["uri"].startswith("/api/search"))
    other = next(entry for entry in entries if entry["uri"] == "/somewhere/else")
    for key, kind in LOG_TYPES.items():
        assert isinstance(search[key], kind), (key, search[key])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)", search["time"])
    assert (search["route"], search["mode"], search["user_agent"]) == ("search", "canary", "t/1")
    assert search["target"] == reply.headers["x-served-by"]
    assert search["bucket"] == int(reply.headers["x-migration-bucket"])
    assert search["config"] == reply.headers["x-gateway-config"]
    assert (search["split"], search["override"]) == (30, "")
    assert search["status"] == 200 and search["uri"] == "/api/search?q=x"
    assert (other["route"], other["mode"], other["target"]) == ("catch-all", "legacy", "legacy")


def test_the_log_names_each_user_by_a_stable_pseudonym(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(CANARY_30)
    users = ["uid-ana-42", "uid-ana-42", "uid-bo-17", "uid-ana-42"]
    for user in users:
        gateway.fetch("/api/search?q=x", headers={"Cookie": f"sf_uid={user}"})
    gateway.fetch("/api/search?q=x")
    gateway.fetch("/api/search?q=x")
    lines = gateway.access_log_entries(at_least=6)
    units = [line["unit"] for line in lines]
    assert all(re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{1,2}", unit) for unit in units), units
    assert all(
        unit.split(".")[0] == str(line["bucket"]) for unit, line in zip(units, lines, strict=True)
    )
    assert len(set(units[:4])) == 2 and units[0] == units[1] == units[3] != units[2]
    assert units[4] != units[5], "a request without a key is a user of its own"
    assert "uid-" not in gateway.access_log.read_text(), "the log never holds a user's key"


def test_the_log_names_a_forced_side(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(CANARY_30)
    gateway.fetch("/api/search?q=x", headers={"X-Migration-Target": "new"})
    gateway.fetch("/api/search?q=x", headers={"X-Migration-Target": "sideways"})
    forced, ignored = gateway.access_log_entries(at_least=2)
    assert (forced["override"], forced["target"]) == ("new", "new")
    assert ignored["override"] == "", "an unknown value forces nothing"
