"""The outbox table: idempotent adds, leased claims, fenced settlement, dead letters, summary."""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from strangler_testing.webhooks import ManualClock
from webhooks.events import Outcome, VerifiedEvent
from webhooks.outbox import Outbox, OutboxUnavailableError, Status

LEASE = 30.0
CONTEXT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def _event(event_id: str = "evt_1", event_type: str = "invoice.paid") -> VerifiedEvent:
    body = json.dumps({"id": event_id, "type": event_type}).encode()
    return VerifiedEvent("stripe", event_id, event_type, body, datetime.now(UTC))


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
