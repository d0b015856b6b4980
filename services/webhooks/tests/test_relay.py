"""The relay delivers stored events to a real gRPC core: outcomes, retries, dead letters, leases."""

import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from strangler_contracts.core.v1 import core_pb2
from strangler_testing import refusing_address
from strangler_testing.webhooks import (
    LEASE_SECONDS,
    RETRY_CAP_SECONDS,
    TOKEN,
    ManualClock,
    RelayFactory,
    RunningCore,
    serve_core,
    stripe_event,
    wait_for,
)
from webhooks.events import VerifiedEvent
from webhooks.outbox import Outbox, Status
from webhooks.relay import backoff_seconds

CONTEXT: dict[str, str] = {}


def _store(
    outbox: Outbox, event_type: str = "invoice.paid", key: str | None = None
) -> VerifiedEvent:
    body = stripe_event(event_type)
    event_id = json.loads(body)["id"]
    event = VerifiedEvent("stripe", event_id, event_type, body, datetime.now(UTC), key)
    assert outbox.add(event, CONTEXT)
    return event


def _row(outbox_path: Path, event_id: str) -> dict[str, Any]:
    with sqlite3.connect(outbox_path) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM outbox WHERE event_id = ?", (event_id,)).fetchone()
    assert row is not None, event_id
    return dict(row)


def test_due_event_is_applied_in_core_and_marked_delivered(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, outbox_path: Path
) -> None:
    event = _store(outbox, "invoice.payment_failed")

    assert make_relay(core.target).deliver_due() == 1

    [call] = core.servicer.calls
    assert call.request.event_id == event.event_id
    assert (call.request.type, call.request.source) == ("invoice.payment_failed", "stripe")
    assert call.request.payload == event.payload
    assert call.request.received_at.ToDatetime(tzinfo=UTC) == event.received_at
    assert call.metadata["authorization"] == f"Bearer {TOKEN}"
    row = _row(outbox_path, event.event_id)
    assert (row["status"], row["outcome"], row["attempts"]) == ("delivered", "applied", 1)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (core_pb2.ApplyEventResponse.DUPLICATE, "duplicate"),
        (core_pb2.ApplyEventResponse.IGNORED, "ignored"),
    ],
)
def test_core_outcome_is_recorded(
    make_relay: RelayFactory,
    core: RunningCore,
    outbox: Outbox,
    outbox_path: Path,
    outcome: core_pb2.ApplyEventResponse.Outcome,
    expected: str,
) -> None:
    core.servicer.outcome = outcome
    event = _store(outbox)

    make_relay(core.target).deliver_due()

    assert _row(outbox_path, event.event_id)["outcome"] == expected


def test_delivered_event_is_not_delivered_again(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, clock: ManualClock
) -> None:
    _store(outbox)
    relay = make_relay(core.target)
    relay.deliver_due()

    clock.advance(10 * LEASE_SECONDS)

    assert relay.deliver_due() == 0
    assert len(core.servicer.calls) == 1


def test_unavailable_core_is_retried_with_growing_backoff(
    make_relay: RelayFactory,
    core: RunningCore,
    outbox: Outbox,
    outbox_path: Path,
    clock: ManualClock,
) -> None:
    event = _store(outbox)
    relay = make_relay(core.target)
    core.servicer.abort_with = grpc.StatusCode.UNAVAILABLE

    waits = []
    for _ in range(5):
        assert relay.deliver_due() == 1
        due = outbox.next_due()
        assert due is not None
        waits.append(due - clock.now)
        assert relay.deliver_due() == 0, "not due again before its backoff"
        clock.advance(waits[-1])

    # Base 1 s, doubled per attempt, capped (the test's jitter is at its top).
    assert waits == pytest.approx([1.0, 2.0, 4.0, RETRY_CAP_SECONDS, RETRY_CAP_SECONDS])
    assert "UNAVAILABLE" in _row(outbox_path, event.event_id)["last_error"]
    core.servicer.abort_with = None
    assert relay.deliver_due() == 1
    row = _row(outbox_path, event.event_id)
    assert (row["status"], row["outcome"], row["attempts"]) == ("delivered", "applied", 6)


def test_unreachable_core_is_retried(
    make_relay: RelayFactory, dead_target: str, outbox: Outbox, outbox_path: Path
) -> None:
    event = _store(outbox)

    make_relay(dead_target).deliver_due()

    row = _row(outbox_path, event.event_id)
    assert row["status"] == "pending"
    assert "UNAVAILABLE" in row["last_error"]


def test_a_core_back_after_an_outage_is_reached_on_the_next_attempt(
    make_relay: RelayFactory, outbox: Outbox, outbox_path: Path, clock: ManualClock
) -> None:
    event = _store(outbox)
    with refusing_address() as target:
        relay = make_relay(target)
        assert relay.deliver_due() == 1
    assert "UNAVAILABLE" in _row(outbox_path, event.event_id)["last_error"]

    # core is back at once: gRPC's own reconnect backoff (a second or more after a refused
    # connection) must not fail the relay's next attempt with the outage's error.
    with serve_core(port=int(target.rpartition(":")[2])) as core:
        clock.advance(RETRY_CAP_SECONDS)
        assert relay.deliver_due() == 1

        row = _row(outbox_path, event.event_id)
        assert (row["status"], row["outcome"], row["attempts"]) == ("delivered", "applied", 2)
        assert [call.request.event_id for call in core.servicer.calls] == [event.event_id]


def test_slow_core_is_retried(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, outbox_path: Path
) -> None:
    core.servicer.stall = True
    event = _store(outbox)

    make_relay(core.target, timeout_seconds=0.3).deliver_due()

    row = _row(outbox_path, event.event_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "DEADLINE_EXCEEDED" in row["last_error"]


@pytest.mark.parametrize("status", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN])
def test_core_failure_of_its_own_is_retried(
    make_relay: RelayFactory,
    core: RunningCore,
    outbox: Outbox,
    outbox_path: Path,
    status: grpc.StatusCode,
) -> None:
    core.servicer.abort_with = status
    event = _store(outbox)

    make_relay(core.target).deliver_due()

    assert _row(outbox_path, event.event_id)["status"] == "pending"


def test_invalid_argument_is_a_dead_letter_never_retried(
    make_relay: RelayFactory,
    core: RunningCore,
    outbox: Outbox,
    outbox_path: Path,
    clock: ManualClock,
) -> None:
    core.servicer.abort_with = grpc.StatusCode.INVALID_ARGUMENT
    event = _store(outbox)
    relay = make_relay(core.target)

    relay.deliver_due()
    clock.advance(100 * RETRY_CAP_SECONDS)

    assert relay.deliver_due() == 0
    assert len(core.servicer.calls) == 1
    row = _row(outbox_path, event.event_id)
    assert row["status"] == "failed"
    assert "INVALID_ARGUMENT" in row["last_error"]
    # An operator sends it back once core accepts it.
    core.servicer.abort_with = None
    assert outbox.retry_failed([event.event_id]) == 1
    assert relay.deliver_due() == 1
    assert _row(outbox_path, event.event_id)["status"] == "delivered"


def test_unknown_outcome_is_a_dead_letter(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, outbox_path: Path
) -> None:
    core.servicer.outcome = core_pb2.ApplyEventResponse.OUTCOME_UNSPECIFIED
    event = _store(outbox)

    make_relay(core.target).deliver_due()

    assert _row(outbox_path, event.event_id)["status"] == "failed"


def test_token_refused_by_core_is_a_dead_letter_logged_loudly(
    make_relay: RelayFactory, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    event = _store(outbox)

    with serve_core(token="x" * 40) as other_core:
        make_relay(other_core.target).deliver_due()
        assert other_core.servicer.calls == []

    assert outbox.failed()[0].event_id == event.event_id
    assert any(
        r.levelno == logging.CRITICAL and "STRANGLER_SERVICE_TOKEN" in r.getMessage()
        for r in caplog.records
    )


def test_a_lease_left_by_a_crashed_relay_is_taken_over_when_it_ends(
    make_relay: RelayFactory,
    core: RunningCore,
    outbox: Outbox,
    outbox_path: Path,
    clock: ManualClock,
) -> None:
    event = _store(outbox)
    # A relay claims the event and dies before settling it.
    assert outbox.claim(LEASE_SECONDS) is not None
    relay = make_relay(core.target)

    assert relay.deliver_due() == 0, "the lease still holds"
    clock.advance(LEASE_SECONDS)
    assert relay.deliver_due() == 1

    [call] = core.servicer.calls
    assert call.request.event_id == event.event_id
    row = _row(outbox_path, event.event_id)
    assert (row["status"], row["attempts"]) == ("delivered", 2)


def test_two_relays_on_one_outbox_never_deliver_an_event_twice(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks.relay")
    # Each call takes a little while, so both relays are busy at once.
    core.servicer.delay_seconds = 0.01
    events = [_store(outbox) for _ in range(40)]
    relays = [make_relay(core.target, real_clock=True) for _ in range(2)]

    for relay in relays:
        relay.start()
    wait_for(lambda: outbox.summary().counts[Status.DELIVERED] == len(events), seconds=30)

    delivered = [call.request.event_id for call in core.servicer.calls]
    assert sorted(delivered) == sorted(event.event_id for event in events)
    threads = {r.thread for r in caplog.records if r.getMessage().startswith("delivered")}
    assert len(threads) == 2, "both relays took part"


def test_an_event_stored_before_a_crash_is_delivered_by_a_fresh_relay(
    make_relay: RelayFactory, core: RunningCore, outbox_path: Path
) -> None:
    # The process that accepted the event died before its relay ran: only the file remains.
    crashed = Outbox(outbox_path)
    crashed.initialize()
    event = _store(crashed)
    del crashed

    relay = make_relay(core.target, real_clock=True)
    relay.start()

    [call] = wait_for(lambda: core.servicer.calls)
    assert call.request.event_id == event.event_id
    assert call.request.payload == event.payload


def test_stopped_relay_thread_ends(make_relay: RelayFactory, core: RunningCore) -> None:
    relay = make_relay(core.target, real_clock=True, poll_seconds=60)
    relay.start()

    relay.close()

    assert relay.running is False


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (10, 30.0, 60.0), (10_000, 30.0, 60.0)],
)
def test_backoff_doubles_within_equal_jitter_up_to_the_cap(
    attempt: int, low: float, high: float
) -> None:
    assert backoff_seconds(attempt, 1.0, 60.0, rand=lambda: 0.0) == low
    assert backoff_seconds(attempt, 1.0, 60.0, rand=lambda: 1.0) == high
    assert low <= backoff_seconds(attempt, 1.0, 60.0) <= high


def test_a_dead_core_costs_one_call_per_backoff_step_not_one_per_event(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, clock: ManualClock
) -> None:
    core.servicer.abort_with = grpc.StatusCode.UNAVAILABLE
    events = [_store(outbox) for _ in range(20)]
    relays = [make_relay(core.target) for _ in range(2)]

    assert [relay.deliver_due() for relay in relays] == [1, 0], "the first failure opens it"
    for wait in (1.0, 2.0, 4.0):
        clock.advance(wait - 0.01)
        assert [relay.deliver_due() for relay in relays] == [0, 0], "open: nobody calls core"
        clock.advance(0.01)
        assert [relay.deliver_due() for relay in relays] == [1, 0], "one probe"
    assert len(core.servicer.calls) == 4

    core.servicer.abort_with = None
    clock.advance(RETRY_CAP_SECONDS)
    assert sum(relay.deliver_due() for relay in relays) == len(events)
    assert outbox.summary().counts[Status.DELIVERED] == len(events)
    assert outbox.circuit() == (0, 0.0)


def test_a_failure_of_one_event_does_not_open_the_circuit(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox
) -> None:
    core.servicer.abort_with = grpc.StatusCode.INTERNAL
    for _ in range(3):
        _store(outbox)

    assert make_relay(core.target).deliver_due() == 3
    assert outbox.circuit()[0] == 0


def test_an_event_retried_past_the_maximum_age_is_a_dead_letter_with_its_error(
    make_relay: RelayFactory,
    core: RunningCore,
    outbox: Outbox,
    outbox_path: Path,
    clock: ManualClock,
) -> None:
    max_age = 3600.0
    core.servicer.abort_with = grpc.StatusCode.UNAVAILABLE
    event = _store(outbox)
    relay = make_relay(core.target, max_age_seconds=max_age)
    relay.deliver_due()
    clock.advance(max_age - 60)
    relay.deliver_due()
    assert _row(outbox_path, event.event_id)["status"] == "pending", "still young enough"

    # received_at is a real time a moment after the clock's start: a little past the age.
    clock.advance(61)
    relay.deliver_due()

    row = _row(outbox_path, event.event_id)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "UNAVAILABLE" in row["last_error"] and "retried for" in row["last_error"]
    [dead] = outbox.failed()
    assert dead.event_id == event.event_id


def test_events_about_one_customer_reach_core_in_the_order_received(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, clock: ManualClock
) -> None:
    failed = _store(outbox, "invoice.payment_failed", key="customer:cus_123")
    paid = _store(outbox, "invoice.paid", key="customer:cus_123")
    relay = make_relay(core.target)
    core.servicer.abort_with = grpc.StatusCode.INTERNAL
    assert relay.deliver_due() == 1, "invoice.paid waits behind the failed attempt"

    core.servicer.abort_with = None
    clock.advance(RETRY_CAP_SECONDS)
    assert make_relay(core.target).deliver_due() == 2, "a fresh relay keeps the order"

    order = [call.request.event_id for call in core.servicer.calls]
    assert order == [failed.event_id, failed.event_id, paid.event_id]


def test_the_relay_prunes_delivered_events_past_retention(
    make_relay: RelayFactory, core: RunningCore, outbox: Outbox, clock: ManualClock
) -> None:
    relay = make_relay(core.target, retention_seconds=100.0)
    _store(outbox)
    relay.deliver_due()
    clock.advance(50)
    assert relay.prune() == 0

    clock.advance(51)

    assert relay.prune() == 1
    assert outbox.summary().counts[Status.DELIVERED] == 0
