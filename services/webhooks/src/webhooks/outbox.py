"""The transactional outbox: accepted events stored durably in SQLite until core has applied them.

The intake adds a row and commits before the sender gets its 2xx, so an event is never lost once
acknowledged. Relays (one thread per worker process) claim due rows one at a time with a lease:
a claim sets ``due_at`` to the end of the lease, so no other relay sees the row as due while it is
being delivered, and a relay that dies mid-delivery leaves a row that becomes due again when its
lease ends. ``due_at`` also carries a retry's backoff. Each claim gets a fresh ``lease_id``, and a
relay can only settle a row it still holds, so a relay whose lease ran out cannot overwrite the
result of the one that took over. Delivery is at least once; core's ``ApplyEvent`` is idempotent
by event id, so a second delivery never applies the event twice.

Events about the same object (:attr:`VerifiedEvent.ordering_key`) are claimed in the order they
were stored: a later one waits while an earlier one is pending, retries and restarts included.

Each thread keeps its own connections (see :mod:`webhooks.connections`): opening one per operation
made SQLite checkpoint and delete the WAL whenever the last one closed. WAL lets the relays read
while an intake writes. Only the intake's insert, the promise behind the sender's 2xx, commits with
``synchronous=FULL`` (it survives power loss); the relay's bookkeeping commits with ``NORMAL``
(WAL: survives a crash, may lose its last commits on power loss, which only means a delivery is
repeated and core applies it once), so the relay holds the write lock for microseconds, not for
an ``fsync``, and never slows an intake down. Each transaction is one statement or two.

The ``relay_circuit`` row is the circuit breaker every relay on this file shares (see
:mod:`webhooks.relay`): while it is open no relay claims anything, so a dead core costs one probe
per backoff step, not one attempt per event.
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

from webhooks.connections import ThreadConnections, begin_immediate, connect
from webhooks.events import Outcome, VerifiedEvent
from webhooks.group_commit import GroupCommit

Clock = Callable[[], float]

SCHEMA_VERSION = 2
PRUNE_BATCH = 500
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
CREATE TABLE IF NOT EXISTS relay_circuit (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    failures INTEGER NOT NULL,
    open_until REAL NOT NULL
) STRICT;
INSERT OR IGNORE INTO relay_circuit (id, failures, open_until) VALUES (1, 0, 0);
"""
# Version 1 files had no ordering key; the column and its index are added in place.
_ORDERING = """
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (ordering_key) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS outbox_settled ON outbox (updated_at) WHERE status = 'delivered';
"""
_CLAIM = """
UPDATE outbox SET due_at = :lease_end, attempts = attempts + 1, lease_id = :lease_id,
    updated_at = :now
WHERE event_id = (
    SELECT o.event_id FROM outbox AS o WHERE o.status = 'pending' AND o.due_at <= :now
    AND (o.ordering_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM outbox AS e WHERE e.status = 'pending'
        AND e.ordering_key = o.ordering_key AND e.rowid < o.rowid
    ))
    ORDER BY o.due_at, o.rowid LIMIT 1
)
RETURNING event_id, source, type, payload, received_at, trace_context, attempts, lease_id,
    ordering_key
"""
_INSERT = """
INSERT INTO outbox (event_id, source, type, payload, received_at, trace_context, status, due_at,
    updated_at, ordering_key)
VALUES (:event_id, :source, :type, :payload, :received_at, :trace_context, 'pending', :now, :now,
    :ordering_key)
ON CONFLICT (event_id) DO NOTHING
"""
_CIRCUIT = "SELECT failures, open_until FROM relay_circuit WHERE id = 1"


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
    """A dead letter: an event core refused for good, or retried past its age, for an operator."""

    event_id: str
    source: str
    type: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class Figure:
    """How many events of one source are in one status, and the ages of the oldest and newest."""

    status: Status
    source: str
    count: int
    oldest_seconds: float
    newest_seconds: float


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
        self._connections = ThreadConnections(path, connect)
        self._inserts = GroupCommit(lambda: self._transaction(durable=True), _INSERT)

    def initialize(self) -> None:
        """Create the file, switch it to WAL and create the table, if not done before."""
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(connect(self.path, durable=False)) as db:
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SCHEMA)
                columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
                if "ordering_key" not in columns:
                    db.execute("ALTER TABLE outbox ADD COLUMN ordering_key TEXT")
                db.executescript(_ORDERING)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def add(self, event: VerifiedEvent, trace_context: Mapping[str, str]) -> bool:
        """Store ``event`` as pending; return False, storing nothing, if its id is stored.

        Concurrent adds in this process commit together (see :mod:`webhooks.group_commit`).
        """
        now = self.clock()
        row = {
            "event_id": event.event_id,
            "source": event.source,
            "type": event.type,
            "payload": event.payload,
            "received_at": event.received_at.isoformat(timespec="microseconds"),
            "trace_context": json.dumps(dict(trace_context)),
            "ordering_key": event.ordering_key,
            "now": now,
        }
        return self._inserts.insert(row)

    def claim(self, lease_seconds: float) -> ClaimedEvent | None:
        """Lease the event that has been due longest, or None if none is due or the circuit is open.

        When the circuit has tripped and its wait is over, the claimed event is the probe: the
        circuit stays closed to every other relay for the lease, until the probe settles.
        """
        now = self.clock()
        failures, open_until = self.circuit()
        if failures and now < open_until:
            # Checked before taking the write lock too: an open circuit costs intakes nothing.
            return None
        lease = {"now": now, "lease_end": now + lease_seconds, "lease_id": uuid.uuid4().hex}
        with self._transaction() as db:
            failures, open_until = db.execute(_CIRCUIT).fetchone()
            if failures and now < open_until:
                return None
            rows = db.execute(_CLAIM, lease).fetchall()
            if rows and failures:
                db.execute("UPDATE relay_circuit SET open_until = ?", (lease["lease_end"],))
        return _claimed(rows[0]) if rows else None

    def mark_delivered(self, claimed: ClaimedEvent, outcome: Outcome) -> bool:
        """Record core's outcome and close the circuit; False if the lease was lost."""
        return self._settle(
            claimed, "status = 'delivered', outcome = ?", outcome.value, close_circuit=True
        )

    def trip_circuit(self, wait_after: Callable[[int], float]) -> float:
        """Count one more failure in a row and open the circuit; return how long it stays open."""
        with self._transaction() as db:
            (failures,) = db.execute("SELECT failures + 1 FROM relay_circuit").fetchone()
            wait = wait_after(failures)
            db.execute(
                "UPDATE relay_circuit SET failures = ?, open_until = ?",
                (failures, self.clock() + wait),
            )
        return wait

    def circuit(self) -> tuple[int, float]:
        """Return the failures in a row and until when (epoch seconds) the circuit is open."""
        with self._reading() as db:
            failures, open_until = db.execute(_CIRCUIT).fetchone()
        return int(failures), float(open_until)

    def prune_delivered(self, retention_seconds: float, batch: int = PRUNE_BATCH) -> int:
        """Delete up to ``batch`` events delivered longer than ``retention_seconds`` ago."""
        cutoff = self.clock() - retention_seconds
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM outbox WHERE rowid IN (SELECT rowid FROM outbox"
                " WHERE status = 'delivered' AND updated_at < ? LIMIT ?)",
                (cutoff, batch),
            )
            return cursor.rowcount

    def schedule_retry(self, claimed: ClaimedEvent, delay_seconds: float, error: str) -> bool:
        """Make the event due again after ``delay_seconds``; False if the lease was lost."""
        return self._settle(
            claimed, "due_at = ?, last_error = ?", self.clock() + delay_seconds, error
        )

    def mark_failed(self, claimed: ClaimedEvent, error: str) -> bool:
        """Move the event to the dead letters; return False if the lease was lost."""
        return self._settle(claimed, "status = 'failed', last_error = ?", error)

    def next_due(self) -> float | None:
        """Return when a relay should look again (epoch seconds), if any event is pending."""
        with self._reading() as db:
            query = "SELECT MIN(due_at) FROM outbox WHERE status = 'pending'"
            (due,) = db.execute(query).fetchone()
            failures, open_until = db.execute(_CIRCUIT).fetchone()
        if due is None:
            return None
        return max(float(due), float(open_until)) if failures else float(due)

    def figures(self) -> list[Figure]:
        """Count the events per status and source, with the ages of the oldest and newest."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT status, source, COUNT(*), MIN(received_at), MAX(received_at)"
                " FROM outbox GROUP BY status, source ORDER BY status, source"
            ).fetchall()
        now = self.clock()
        return [
            Figure(Status(status), source, count, _age(now, oldest), _age(now, newest))
            for status, source, count, oldest, newest in rows
        ]

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
                "SELECT event_id, source, type, attempts, last_error FROM outbox"
                " WHERE status = 'failed' ORDER BY updated_at DESC, rowid DESC LIMIT ?",
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

    def _settle(
        self,
        claimed: ClaimedEvent,
        assignments: str,
        *values: object,
        close_circuit: bool = False,
    ) -> bool:
        # ``assignments`` is one of the literals above, never input: the values stay parameters.
        statement = (
            f"UPDATE outbox SET {assignments}, lease_id = NULL, updated_at = ?"  # noqa: S608
            " WHERE event_id = ? AND lease_id = ?"
        )
        params = (*values, self.clock(), claimed.event.event_id, claimed.lease_id)
        with self._transaction() as db:
            kept = db.execute(statement, params).rowcount == 1
            if close_circuit:
                db.execute(
                    "UPDATE relay_circuit SET failures = 0, open_until = 0 WHERE failures > 0"
                )
            return kept

    def close(self) -> None:
        """Close the connections this process keeps (a later operation opens new ones)."""
        self._connections.close()

    @contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: a read that later turned into a write could
        # fail on a snapshot another writer has moved past, which no busy timeout would retry.
        with self._kept(durable=durable) as db:
            begin_immediate(db)
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._kept(durable=False) as db:
            yield db

    @contextmanager
    def _kept(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        # A connection that failed may be left inside a transaction or on a vanished file: it is
        # closed, and the thread's next operation opens a fresh one.
        with self._errors():
            db = self._connections.get(durable=durable)
            try:
                yield db
            except (sqlite3.Error, OSError):
                self._connections.discard(durable=durable)
                raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            raise OutboxUnavailableError(f"outbox {self.path}: {error}") from error


def _claimed(row: tuple[str, str, str, bytes, str, str, int, str, str | None]) -> ClaimedEvent:
    event_id, source, event_type, payload, received_at, trace_context, attempts, lease_id, key = row
    received = datetime.fromisoformat(received_at).astimezone(UTC)
    event = VerifiedEvent(source, event_id, event_type, payload, received, key)
    return ClaimedEvent(event, json.loads(trace_context), attempts, lease_id)


def _age(now: float, received_at: str) -> float:
    return now - datetime.fromisoformat(received_at).timestamp()
