"""The transactional outbox: accepted events stored durably in SQLite until core has applied them.

The intake adds a row and commits before the sender gets its 2xx, so an event is never lost once
acknowledged. Relays (one thread per worker process) claim due rows one at a time with a lease:
a claim sets ``due_at`` to the end of the lease, so no other relay sees the row as due while it is
being delivered, and a relay that dies mid-delivery leaves a row that becomes due again when its
lease ends. ``due_at`` also carries a retry's backoff. Each claim gets a fresh ``lease_id``, and a
relay can only settle a row it still holds, so a relay whose lease ran out cannot overwrite the
result of the one that took over. Delivery is at least once; core's ``ApplyEvent`` is idempotent
by event id, so a second delivery never applies the event twice.

Every operation opens its own connection: connections never cross a ``fork`` or a thread, and
opening a SQLite file is cheap next to the ``fsync`` of a commit. WAL lets the relays read while
an intake writes; ``synchronous=FULL`` makes a commit survive power loss, not just a crash.
"""

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from webhooks.events import Outcome, VerifiedEvent

Clock = Callable[[], float]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 5.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at TEXT NOT NULL,
    trace_context TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    due_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_id TEXT,
    outcome TEXT,
    last_error TEXT,
    updated_at REAL NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due_at) WHERE status = 'pending';
"""
_CLAIM = """
UPDATE outbox SET due_at = :lease_end, attempts = attempts + 1, lease_id = :lease_id,
    updated_at = :now
WHERE event_id = (
    SELECT event_id FROM outbox WHERE status = 'pending' AND due_at <= :now
    ORDER BY due_at LIMIT 1
)
RETURNING event_id, source, type, payload, received_at, trace_context, attempts, lease_id
"""


class OutboxUnavailableError(RuntimeError):
    """The outbox's database cannot be read or written."""


class Status(StrEnum):
    """Where a stored event is in its delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class ClaimedEvent:
    """A stored event a relay holds the lease of, with the trace context of its intake."""

    event: VerifiedEvent
    trace_context: Mapping[str, str]
    attempt: int
    lease_id: str


@dataclass(frozen=True)
class FailedEvent:
    """A dead letter: an event core refused for good, kept for an operator."""

    event_id: str
    type: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class OutboxSummary:
    """How many events are in each status, and how long the oldest pending one has waited."""

    counts: Mapping[Status, int]
    oldest_pending_seconds: float | None


class Outbox:
    """The outbox table in one SQLite file."""

    def __init__(self, path: Path, *, clock: Clock = time.time) -> None:
        self.path = path
        self.clock = clock

    def initialize(self) -> None:
        """Create the file, switch it to WAL and create the table, if not done before."""
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def add(self, event: VerifiedEvent, trace_context: Mapping[str, str]) -> bool:
        """Store ``event`` as pending; return False, storing nothing, if its id is stored."""
        now = self.clock()
        row = {
            "event_id": event.event_id,
            "source": event.source,
            "type": event.type,
            "payload": event.payload,
            "received_at": event.received_at.isoformat(timespec="microseconds"),
            "trace_context": json.dumps(dict(trace_context)),
            "now": now,
        }
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO outbox (event_id, source, type, payload, received_at, trace_context,"
                " status, due_at, updated_at) VALUES (:event_id, :source, :type, :payload,"
                " :received_at, :trace_context, 'pending', :now, :now)"
                " ON CONFLICT (event_id) DO NOTHING",
                row,
            )
            return cursor.rowcount == 1

    def claim(self, lease_seconds: float) -> ClaimedEvent | None:
        """Lease the event that has been due longest, or return None if none is due."""
        now = self.clock()
        lease = {"now": now, "lease_end": now + lease_seconds, "lease_id": uuid.uuid4().hex}
        with self._transaction() as db:
            rows = db.execute(_CLAIM, lease).fetchall()
        return _claimed(rows[0]) if rows else None

    def mark_delivered(self, claimed: ClaimedEvent, outcome: Outcome) -> bool:
        """Record core's outcome; return False if the lease was lost to another relay."""
        return self._settle(claimed, "status = 'delivered', outcome = ?", outcome.value)

    def schedule_retry(self, claimed: ClaimedEvent, delay_seconds: float, error: str) -> bool:
        """Make the event due again after ``delay_seconds``; False if the lease was lost."""
        return self._settle(
            claimed, "due_at = ?, last_error = ?", self.clock() + delay_seconds, error
        )

    def mark_failed(self, claimed: ClaimedEvent, error: str) -> bool:
        """Move the event to the dead letters; return False if the lease was lost."""
        return self._settle(claimed, "status = 'failed', last_error = ?", error)

    def next_due(self) -> float | None:
        """Return when the next pending event becomes due (epoch seconds), if any is pending."""
        with self._reading() as db:
            query = "SELECT MIN(due_at) FROM outbox WHERE status = 'pending'"
            (due,) = db.execute(query).fetchone()
        return float(due) if due is not None else None

    def summary(self) -> OutboxSummary:
        """Count the events by status and measure the oldest pending one's wait."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT status, COUNT(*), MIN(received_at) FROM outbox GROUP BY status"
            ).fetchall()
        counts = dict.fromkeys(Status, 0) | {Status(status): n for status, n, _ in rows}
        oldest = next((received for status, _, received in rows if status == Status.PENDING), None)
        age = self.clock() - datetime.fromisoformat(oldest).timestamp() if oldest else None
        return OutboxSummary(counts, age)

    def failed(self, limit: int = 100) -> list[FailedEvent]:
        """Return the dead letters, most recently failed first."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT event_id, type, attempts, last_error FROM outbox"
                " WHERE status = 'failed' ORDER BY updated_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [FailedEvent(*row) for row in rows]

    def retry_failed(self, event_ids: Sequence[str] = ()) -> int:
        """Make dead letters (all, or those named) pending again; return how many."""
        params = {"now": self.clock(), "ids": json.dumps(list(event_ids)), "all": not event_ids}
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE outbox SET status = 'pending', due_at = :now, attempts = 0,"
                " updated_at = :now WHERE status = 'failed'"
                " AND (:all OR event_id IN (SELECT value FROM json_each(:ids)))",
                params,
            )
            return cursor.rowcount

    def _settle(self, claimed: ClaimedEvent, assignments: str, *values: object) -> bool:
        # ``assignments`` is one of the literals above, never input: the values stay parameters.
        statement = (
            f"UPDATE outbox SET {assignments}, lease_id = NULL, updated_at = ?"  # noqa: S608
            " WHERE event_id = ? AND lease_id = ?"
        )
        params = (*values, self.clock(), claimed.event.event_id, claimed.lease_id)
        with self._transaction() as db:
            return db.execute(statement, params).rowcount == 1

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are begun explicitly, so their extent is visible here.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        db.execute("PRAGMA synchronous = FULL")
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: a read that later turned into a write could
        # fail on a snapshot another writer has moved past, which no busy timeout would retry.
        with self._errors(), closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._errors(), closing(self._connect()) as db:
            yield db

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            raise OutboxUnavailableError(f"outbox {self.path}: {error}") from error


def _claimed(row: tuple[str, str, str, bytes, str, str, int, str]) -> ClaimedEvent:
    event_id, source, event_type, payload, received_at, trace_context, attempts, lease_id = row
    received = datetime.fromisoformat(received_at).astimezone(UTC)
    event = VerifiedEvent(source, event_id, event_type, payload, received)
    return ClaimedEvent(event, json.loads(trace_context), attempts, lease_id)
