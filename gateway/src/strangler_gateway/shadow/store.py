"""The shadow database: one row per finished comparison, plus the comparisons dropped unrun.

SQLite in WAL mode, so ``strangler shadow`` reads while the comparator writes. Each comparison is
one INSERT in its own transaction: after a crash a comparison is recorded whole or not at all.
"""

import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from strangler_gateway.shadow.models import Comparison

__all__ = ["BUSY_TIMEOUT_MS", "DB_ENV", "DEFAULT_DB", "ShadowStore", "connect", "default_db"]

# STRANGLER_SHADOW_DB: the shadow database the comparator writes and `strangler shadow` reads when
# --db is not given (default var/data/shadow.sqlite3, relative to the current directory).
DB_ENV = "STRANGLER_SHADOW_DB"
DEFAULT_DB = Path("var") / "data" / "shadow.sqlite3"
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS comparisons (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,                 -- unix seconds, when the comparison finished
    route TEXT NOT NULL,
    method TEXT NOT NULL,
    uri TEXT NOT NULL,
    request_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,             -- the user's trace if recorded, else '' (its span linked)
    shadow_trace_id TEXT NOT NULL,      -- the comparison's own trace
    outcome TEXT NOT NULL CHECK (outcome IN ('match', 'diff', 'timeout', 'error')),
    rule TEXT NOT NULL,
    overlap REAL,
    legacy_ms REAL,
    new_ms REAL,
    legacy_status INTEGER,
    new_status INTEGER,
    detail TEXT NOT NULL,
    diff TEXT NOT NULL,                 -- JSON list of {path, legacy?, new?}
    noise TEXT NOT NULL                 -- JSON list of path patterns ignored as legacy noise
);
CREATE INDEX IF NOT EXISTS comparisons_by_route_time ON comparisons (route, time);
CREATE TABLE IF NOT EXISTS drops (
    route TEXT NOT NULL,
    time REAL NOT NULL,                 -- unix seconds, when the count was written
    count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS drops_by_route_time ON drops (route, time);
"""

_INSERT = """
INSERT INTO comparisons (time, route, method, uri, request_id, trace_id, shadow_trace_id, outcome,
    rule, overlap, legacy_ms, new_ms, legacy_status, new_status, detail, diff, noise)
VALUES (:time, :route, :method, :uri, :request_id, :trace_id, :shadow_trace_id, :outcome, :rule,
    :overlap, :legacy_ms, :new_ms, :legacy_status, :new_status, :detail, :diff, :noise)
"""


def default_db() -> Path:
    """Return the database named by ``STRANGLER_SHADOW_DB``, else ``var/data/shadow.sqlite3``."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the shadow database (read-only: without creating it or taking a write lock)."""
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


class ShadowStore:
    """The comparator's writer: records comparisons and drop counts, from any thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = connect(path)
        # One connection shared by the worker threads; sqlite3 objects need one user at a time.
        self._lock = threading.Lock()
        with self._lock, self._connection:
            self._connection.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a committed comparison survives a crash of this process.
            self._connection.execute("PRAGMA synchronous = NORMAL")
            self._connection.executescript(_SCHEMA)

    def record(self, comparison: Comparison) -> None:
        """Write one finished comparison, in a transaction of its own."""
        row = {
            "time": comparison.time,
            "route": comparison.route,
            "method": comparison.method,
            "uri": comparison.uri,
            "request_id": comparison.request_id,
            "trace_id": comparison.trace_id,
            "shadow_trace_id": comparison.shadow_trace_id,
            "outcome": str(comparison.outcome),
            "rule": str(comparison.rule),
            "overlap": comparison.overlap,
            "legacy_ms": comparison.legacy_ms,
            "new_ms": comparison.new_ms,
            "legacy_status": comparison.legacy_status,
            "new_status": comparison.new_status,
            "detail": comparison.detail,
            "diff": json.dumps([diff.to_json() for diff in comparison.diffs], ensure_ascii=False),
            "noise": json.dumps(list(comparison.noise)),
        }
        with self._lock, self._connection:
            self._connection.execute(_INSERT, row)

    def add_drops(self, counts: Mapping[str, int], at: float | None = None) -> None:
        """Add the number of comparisons dropped per route since the last call."""
        now = time.time() if at is None else at
        rows = [(route, now, count) for route, count in counts.items() if count > 0]
        if not rows:
            return
        with self._lock, self._connection:
            self._connection.executemany(
                "INSERT INTO drops (route, time, count) VALUES (?, ?, ?)", rows
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()

    def __enter__(self) -> "ShadowStore":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
