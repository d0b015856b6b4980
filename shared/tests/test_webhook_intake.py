"""The shared intake rules: each refusal's status and code, and the edges of each limit."""

import json

import pytest
from strangler_shared.webhook_intake import (
    MAX_BODY_BYTES,
    MAX_EVENT_ID_CHARS,
    MAX_JSON_DEPTH,
    TIMESTAMP_TOLERANCE_SECONDS,
    IntakeRefusal,
    check_body_size,
    check_event_fields,
    check_timestamp,
    parse_event,
    stripe_signature_timestamp,
)

NOW = 1_800_000_000.0


def _nested(depth: int) -> bytes:
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return f'{{"id": "evt_1", "type": "t", "d": {inner}}}'.encode()


def test_a_valid_event_parses() -> None:
    event = parse_event(b'{"id": "evt_1", "type": "invoice.paid", "data": {"n": 1.5}}')

    assert (event.event_id, event.type, event.payload["data"]) == (
        "evt_1",
        "invoice.paid",
        {"n": 1.5},
    )


def test_depth_at_the_limit_passes_and_one_more_is_refused() -> None:
    assert parse_event(_nested(MAX_JSON_DEPTH)).event_id == "evt_1"

    with pytest.raises(IntakeRefusal) as refused:
        parse_event(_nested(MAX_JSON_DEPTH + 1))

    assert (refused.value.status, refused.value.code) == (400, "invalid_event")


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff{}",
        b"{",
        b"[]",
        b'{"id": "evt_1", "type": "t", "x": Infinity}',
        b'{"id": "evt_1", "type": "t", "d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        json.dumps({"id": "e" * (MAX_EVENT_ID_CHARS + 1), "type": "t"}).encode(),
        json.dumps({"id": "evt\u00001", "type": "t"}).encode(),
        json.dumps({"id": "evt_1", "type": ""}).encode(),
        json.dumps({"id": 12, "type": "t"}).encode(),
    ],
)
def test_bodies_core_could_not_apply_are_invalid_events(raw: bytes) -> None:
    with pytest.raises(IntakeRefusal) as refused:
        parse_event(raw)

    assert (refused.value.status, refused.value.code) == (400, "invalid_event")


def test_an_id_of_exactly_255_characters_passes() -> None:
    check_event_fields("e" * MAX_EVENT_ID_CHARS, "invoice.paid", "stripe")


def test_size_limit_is_inclusive_and_answers_413() -> None:
    check_body_size(MAX_BODY_BYTES)

    with pytest.raises(IntakeRefusal) as refused:
        check_body_size(MAX_BODY_BYTES + 1)

    assert (refused.value.status, refused.value.code) == (413, "payload_too_large")


@pytest.mark.parametrize("offset", [-TIMESTAMP_TOLERANCE_SECONDS, 0, TIMESTAMP_TOLERANCE_SECONDS])
def test_timestamps_within_the_window_pass(offset: int) -> None:
    check_timestamp(NOW + offset, now=NOW)


@pytest.mark.parametrize(
    "offset", [-TIMESTAMP_TOLERANCE_SECONDS - 1, TIMESTAMP_TOLERANCE_SECONDS + 1, 3600]
)
def test_timestamps_outside_the_window_either_way_are_refused(offset: int) -> None:
    with pytest.raises(IntakeRefusal) as refused:
        check_timestamp(NOW + offset, now=NOW)

    assert refused.value.code == "invalid_signature"
    assert ("future" in refused.value.message) == (offset > 0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("t=1700000000,v1=ab", 1_700_000_000.0), (" v1=ab , t=12 ", 12.0)],
)
def test_stripe_timestamp_is_read_from_the_header(header: str, expected: float) -> None:
    assert stripe_signature_timestamp(header) == expected


@pytest.mark.parametrize("header", ["v1=ab", "t=soon,v1=ab", "garbage"])
def test_stripe_header_without_a_timestamp_is_an_invalid_signature(header: str) -> None:
    with pytest.raises(IntakeRefusal) as refused:
        stripe_signature_timestamp(header)

    assert refused.value.code == "invalid_signature"
