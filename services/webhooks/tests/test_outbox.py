"""The outbox table: idempotent adds, leased claims, fenced settlement, dead letters, summary."""

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from strangler_testing.webhooks import ManualClock
from webhooks.events import Outcome, VerifiedEvent
from webhooks.outbox import Outbox, OutboxUnavailableError, Status

LEASE = 30.0
CONTEXT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def _event(
    event_id: str = "evt_1", event_type: str = "invoice.paid", key: str | None = None
) -> VerifiedEvent:
    body = json.dumps({"id": event_id, "type": event_type}).encode()
    return VerifiedEvent("stripe", event_id, event_type, body, datetime.now(UTC), key)


def _deliver(outbox: Outbox) -> str:
    claimed = outbox.claim(LEASE)
    assert claimed is not None
    assert outbox.mark_delivered(claimed, Outcome.APPLIED)
    return claimed.event.event_id


def test_file_is_in_wal_mode_with_its_table(outbox: Outbox, outbox_path: Path) -> None:
    with sqlite3.connect(outbox_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)


def test_an_event_id_is_stored_once(outbox: Outbox, outbox_path: Path) -> None:
    assert outbox.add(_event("evt_1"), CONTEXT) is True
    assert outbox.add(_event("evt_1", "other.type"), {}) is False

    with sqlite3.connect(outbox_path) as db:
        rows = db.execute("SELECT event_id, type, trace_context FROM outbox").fetchall()
    assert rows == [("evt_1", "invoice.paid", json.dumps(CONTEXT))]


def test_claim_returns_the_event_as_stored(outbox: Outbox) -> None:
    event = _event()
    outbox.add(event, CONTEXT)

    claimed = outbox.claim(LEASE)

    assert claimed is not None
    assert claimed.event == event
    assert claimed.trace_context == CONTEXT
    assert claimed.attempt == 1


def test_a_claimed_event_is_not_claimed_again_until_its_lease_ends(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.add(_event(), CONTEXT)
    first = outbox.claim(LEASE)

    clock.advance(LEASE - 1)
    assert outbox.claim(LEASE) is None
    clock.advance(1)
    second = outbox.claim(LEASE)

    assert first is not None and second is not None
    assert second.event.event_id == first.event.event_id
    assert (second.attempt, second.lease_id != first.lease_id) == (2, True)


def test_a_lost_lease_cannot_settle_the_event(outbox: Outbox, clock: ManualClock) -> None:
    outbox.add(_event(), CONTEXT)
    stale = outbox.claim(LEASE)
    clock.advance(LEASE)
    current = outbox.claim(LEASE)
    assert stale is not None and current is not None

    assert outbox.mark_failed(stale, "too late") is False
    assert outbox.mark_delivered(current, Outcome.APPLIED) is True
    assert outbox.summary().counts[Status.DELIVERED] == 1


def test_a_retry_is_due_after_its_delay(outbox: Outbox, clock: ManualClock) -> None:
    outbox.add(_event(), CONTEXT)
    claimed = outbox.claim(LEASE)
    assert claimed is not None

    assert outbox.schedule_retry(claimed, 4.0, "core answered UNAVAILABLE") is True

    assert outbox.next_due() == pytest.approx(clock.now + 4.0)
    assert outbox.claim(LEASE) is None
    clock.advance(4.0)
    assert outbox.claim(LEASE) is not None


def test_summary_counts_statuses_and_ages_the_oldest_pending(
    outbox: Outbox, clock: ManualClock
) -> None:
    for event_id in ("evt_a", "evt_b", "evt_c"):
        outbox.add(_event(event_id), {})
    delivered, failed = outbox.claim(LEASE), outbox.claim(LEASE)
    assert delivered is not None and failed is not None
    outbox.mark_delivered(delivered, Outcome.IGNORED)
    outbox.mark_failed(failed, "core answered INVALID_ARGUMENT: bad")
    clock.advance(60)

    summary = outbox.summary()

    assert summary.counts == {Status.PENDING: 1, Status.DELIVERED: 1, Status.FAILED: 1}
    assert summary.oldest_pending_seconds == pytest.approx(60, abs=5)
    [dead] = outbox.failed()
    assert (dead.event_id, dead.attempts) == (failed.event.event_id, 1)
    assert "INVALID_ARGUMENT" in dead.last_error


def test_retry_failed_makes_dead_letters_pending_again(outbox: Outbox) -> None:
    for event_id in ("evt_a", "evt_b"):
        outbox.add(_event(event_id), {})
        claimed = outbox.claim(LEASE)
        assert claimed is not None
        outbox.mark_failed(claimed, "refused")

    assert outbox.retry_failed(["evt_b", "evt_unknown"]) == 1
    assert outbox.summary().counts[Status.FAILED] == 1
    assert outbox.retry_failed() == 1

    again = outbox.claim(LEASE)
    assert again is not None and again.attempt == 1
    assert outbox.summary().counts == {Status.PENDING: 2, Status.DELIVERED: 0, Status.FAILED: 0}


def test_an_unusable_file_is_an_outbox_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory")

    with pytest.raises(OutboxUnavailableError, match="taken"):
        Outbox(tmp_path / "taken" / "outbox.sqlite3").initialize()


def test_the_write_ahead_log_stays_between_operations(outbox: Outbox, outbox_path: Path) -> None:
    # Were each operation's connection the file's last, closing it would checkpoint the log
    # into the database and delete it, at the cost of an fsync and two file creations each time.
    outbox.add(_event("evt_1"), CONTEXT)
    _deliver(outbox)

    assert outbox_path.with_name(outbox_path.name + "-wal").exists()


def test_an_outbox_whose_file_was_removed_refuses_instead_of_losing_events(
    outbox: Outbox, outbox_path: Path
) -> None:
    outbox.add(_event("evt_1"), CONTEXT)
    for leftover in outbox_path.parent.glob(outbox_path.name + "*"):
        leftover.unlink()

    # A kept connection would write into the unlinked file, which nobody will ever read.
    with pytest.raises(OutboxUnavailableError):
        outbox.add(_event("evt_2"), CONTEXT)
    outbox.initialize()
    assert outbox.add(_event("evt_2"), CONTEXT) is True
    assert outbox.summary().counts[Status.PENDING] == 1


def test_an_outbox_works_in_a_forked_child(outbox: Outbox) -> None:
    outbox.add(_event("evt_parent"), CONTEXT)
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if its own connection stored the event
        code = 1
        try:
            code = 0 if outbox.add(_event("evt_child"), CONTEXT) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert outbox.add(_event("evt_after"), CONTEXT) is True
    assert outbox.summary().counts[Status.PENDING] == 3


def test_events_about_one_object_are_claimed_in_the_order_stored(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.add(_event("evt_first", key="customer:cus_1"), {})
    outbox.add(_event("evt_other", key="customer:cus_2"), {})
    outbox.add(_event("evt_second", key="customer:cus_1"), {})
    first = outbox.claim(LEASE)
    assert first is not None and first.event.event_id == "evt_first"
    assert outbox.schedule_retry(first, 5.0, "core answered UNAVAILABLE")

    # evt_second is due, but evt_first (same customer) is still pending: only evt_other goes.
    other = outbox.claim(LEASE)
    assert other is not None and other.event.event_id == "evt_other"
    assert outbox.claim(LEASE) is None
    clock.advance(5.0)
    assert _deliver(outbox) == "evt_first"
    assert _deliver(outbox) == "evt_second"


def test_a_dead_letter_does_not_hold_back_later_events_of_its_object(outbox: Outbox) -> None:
    outbox.add(_event("evt_first", key="customer:cus_1"), {})
    outbox.add(_event("evt_second", key="customer:cus_1"), {})
    first = outbox.claim(LEASE)
    assert first is not None
    outbox.mark_failed(first, "core answered INVALID_ARGUMENT")

    assert _deliver(outbox) == "evt_second"


def test_the_order_holds_for_a_fresh_outbox_on_the_same_file(
    outbox: Outbox, outbox_path: Path, clock: ManualClock
) -> None:
    outbox.add(_event("evt_first", key="object:in_1"), {})
    outbox.add(_event("evt_second", key="object:in_1"), {})
    assert outbox.claim(LEASE) is not None  # then this relay dies, holding the lease

    restarted = Outbox(outbox_path, clock=clock)
    restarted.initialize()
    assert restarted.claim(LEASE) is None, "evt_second waits for evt_first's lease"
    clock.advance(LEASE)
    assert _deliver(restarted) == "evt_first"
    assert _deliver(restarted) == "evt_second"


def test_delivered_events_are_pruned_only_after_the_retention_window(
    outbox: Outbox, clock: ManualClock
) -> None:
    retention = 7 * 24 * 3600.0
    outbox.add(_event("evt_old"), {})
    _deliver(outbox)
    outbox.add(_event("evt_waiting"), {})
    clock.advance(retention - 1)

    assert outbox.prune_delivered(retention) == 0
    assert outbox.add(_event("evt_old"), {}) is False, "a late duplicate is still recognised"
    clock.advance(2)
    assert outbox.prune_delivered(retention) == 1
    assert outbox.summary().counts == {Status.PENDING: 1, Status.DELIVERED: 0, Status.FAILED: 0}


def test_pruning_goes_in_small_batches(outbox: Outbox, clock: ManualClock) -> None:
    for n in range(5):
        outbox.add(_event(f"evt_{n}"), {})
        _deliver(outbox)
    clock.advance(11)

    assert [outbox.prune_delivered(10, batch=2) for _ in range(4)] == [2, 2, 1, 0]


def test_an_open_circuit_stops_every_claim_until_its_wait_ends(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.add(_event("evt_1"), {})
    outbox.add(_event("evt_2"), {})

    assert outbox.trip_circuit(lambda failures: 4.0 * failures) == 4.0
    assert outbox.claim(LEASE) is None
    assert outbox.next_due() == clock.now + 4.0
    clock.advance(4.0)
    probe = outbox.claim(LEASE)
    assert probe is not None
    assert outbox.claim(LEASE) is None, "one probe at a time"
    assert outbox.mark_delivered(probe, Outcome.APPLIED)
    assert outbox.circuit() == (0, 0.0)
    assert outbox.claim(LEASE) is not None, "closed again for everyone"


def test_figures_count_per_status_and_source_with_ages(outbox: Outbox, clock: ManualClock) -> None:
    outbox.add(_event("evt_1"), {})
    standard = VerifiedEvent("standard", "msg_1", "invoice.paid", b"{}", datetime.now(UTC))
    outbox.add(standard, {})
    _deliver(outbox)
    clock.advance(60)

    figures = {(f.status, f.source): f for f in outbox.figures()}

    assert set(figures) == {(Status.DELIVERED, "stripe"), (Status.PENDING, "standard")}
    assert figures[Status.PENDING, "standard"].count == 1
    assert figures[Status.PENDING, "standard"].oldest_seconds == pytest.approx(60, abs=5)


def test_a_version_one_file_gains_the_ordering_key(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE outbox (event_id TEXT PRIMARY KEY, source TEXT NOT NULL, type TEXT NOT"
            " NULL, payload BLOB NOT NULL, received_at TEXT NOT NULL, trace_context TEXT NOT NULL,"
            " status TEXT NOT NULL, due_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
            " lease_id TEXT, outcome TEXT, last_error TEXT, updated_at REAL NOT NULL) STRICT"
        )
    outbox = Outbox(path)

    outbox.initialize()

    assert outbox.add(_event("evt_1", key="customer:cus_1"), {}) is True
    claimed = outbox.claim(LEASE)
    assert claimed is not None and claimed.event.ordering_key == "customer:cus_1"
