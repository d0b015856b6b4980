"""SQLite persistence for received spans: the one place that knows the table layout.

SQLite keeps the local stack free of Docker and servers. WAL mode lets `traces list` read while the
receiver writes; every export is one transaction, and (trace_id, span_id) is the key, so a batch an
exporter re-sends after a lost response replaces its spans instead of duplicating them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from tracestore.models import (
    NANOS_PER_MS,
    LogPosition,
    SpanEvent,
    SpanLink,
    SpanRecord,
    SpanRef,
    SpanStatus,
    TraceFilter,
    TraceSummary,
)
from tracestore.retention import Retention, prune_step, used_bytes

BUSY_TIMEOUT_MS = 5000
CACHE_BYTES = 64 * 1024 * 1024
"""SQLite's page cache for the store's connection (its default is 2 MB). A trace id is random, so
the primary key's index takes each new span on a page of its own; once that index outgrew the
default cache (about 30,000 spans: it holds 65 bytes per span), every export read most of its
pages back from disk: 10 exports of 512 spans into a store of 51,200 read 101 MB, and 27 MB with
this cache (what remains is checkpoints copying the log into the database). Inserting rag's search
spans into a store of 100,000-200,000 took 100-104 µs of CPU per span, and 85-88 µs with it
(system time 59-65 µs, then 37-44). 64 MB holds that index for about a million spans, beyond the
default retention's 256 MB (about 260,000 such spans)."""
CHECKPOINT_PAGES = 10_000
"""Pages the write-ahead log may hold before a commit copies them into the database (SQLite's
default is 1,000, about two exports of 512 spans). Each export dirties a page of that index per
span; a longer log takes many exports' changes to the same pages, and the checkpoint copies each
page once: over 40 exports into a store of 51,200 spans, 33 MB read and 191 MB written instead of
120 and 278, and system time 0.27 s instead of 0.45. The log file grows to about 40 MB."""

# Every index but the primary key grows at its end: a trace id is random, so an index led by it
# takes each new span on a page of its own, and once the file outgrows SQLite's page cache every
# export reads and rewrites a page per span and index. The primary key already finds a trace's
# spans (a handful to sort), and a service's spans are listed by time, so no other index starts
# with the trace id. At 250,000 stored spans an insert cost 69 µs of CPU per span with two more
# such indexes and 25 µs without them, what it costs in an empty file.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    service_name TEXT NOT NULL,
    start_unix_nano INTEGER NOT NULL,
    end_unix_nano INTEGER NOT NULL,
    status_code TEXT NOT NULL,
    status_message TEXT NOT NULL,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL,
    links TEXT NOT NULL,
    resource_attributes TEXT NOT NULL,
    scope_name TEXT NOT NULL,
    trace_state TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_unix_nano);
CREATE INDEX IF NOT EXISTS spans_by_service_start
    ON spans (service_name, start_unix_nano, trace_id);
CREATE INDEX IF NOT EXISTS spans_by_route
    ON spans (json_extract(attributes, '$."migration.route"'));
CREATE TABLE IF NOT EXISTS log_positions (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL
);
"""
# Indexes of earlier versions, led by the trace id; dropped from a database made before.
_DROPPED_INDEXES = ("spans_by_trace_start", "spans_by_service")
# The gateway's routing decision, indexed above, so listing traces by route stays cheap.
_ROUTE = """json_extract(attributes, '$."migration.route"')"""

_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "service_name",
    "start_unix_nano",
    "end_unix_nano",
    "status_code",
    "status_message",
    "attributes",
    "events",
    "links",
    "resource_attributes",
    "scope_name",
    "trace_state",
)
_KEY = ("trace_id", "span_id")
# Columns added after the first release, with their definitions, for databases made before them.
_ADDED_COLUMNS = {"trace_state": "TEXT NOT NULL DEFAULT ''"}
_UPSERT = (
    f"INSERT INTO spans ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "  # noqa: S608
    "ON CONFLICT (trace_id, span_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS if column not in _KEY)
)

_RECENT = f"""
SELECT trace_id, MIN(start_unix_nano) AS start_nano, MAX(end_unix_nano) AS end_nano,
       COUNT(*) AS span_count, MAX(status_code = 'ERROR') AS error, MAX({_ROUTE}) AS route
FROM spans
{{where}}
GROUP BY trace_id
{{having}}
ORDER BY {{order}}
LIMIT ?
"""  # noqa: S608
_BY_SERVICE = "trace_id IN (SELECT trace_id FROM spans WHERE service_name = ?)"
_BY_ROUTE = f"trace_id IN (SELECT trace_id FROM spans WHERE {_ROUTE} = ?)"  # noqa: S608
_BY_SIDE = """trace_id IN (SELECT trace_id FROM spans
    WHERE json_extract(attributes, '$."migration.target"') = ?)"""
# The gateway's own traffic: its health check, its status page, people using the console, and
# the console's machinery (the session check it asks core for, the fault flags it reads).
_INTERNAL = """trace_id NOT IN (SELECT trace_id FROM spans WHERE (service_name = 'gateway' AND (
    json_extract(attributes, '$."url.path"') = '/healthz'
    OR json_extract(attributes, '$."url.path"') LIKE '/!_!_gateway/%' ESCAPE '!'
    OR json_extract(attributes, '$."url.path"') LIKE '/console%'))
    OR (COALESCE(parent_span_id, '') = '' AND (
        name LIKE '% internal/auth/session' OR name LIKE '% /internal/faults')))"""
ORDERS = {
    "recent": "start_nano DESC",
    "errors": "error DESC, start_nano DESC",
    "slowest": "end_nano - start_nano DESC, start_nano DESC",
}
_SAVE_POSITION = (
    "INSERT INTO log_positions (path, inode, byte_offset) VALUES (?, ?, ?) "
    "ON CONFLICT (path) DO UPDATE SET inode = excluded.inode, byte_offset = excluded.byte_offset"
)
# A lock is not fair: a thread that releases it and asks again at once usually gets it back
# before a waiting thread wakes. The pruning thread pauses this long between steps.
_WRITER_TURN_SECONDS = 0.005


def _yield_to_writers() -> None:
    time.sleep(_WRITER_TURN_SECONDS)


class TraceStore:
    """Spans in one SQLite file, safe to share between the receiver's worker threads."""

    def __init__(
        self,
        path: str | Path,
        *,
        cache_bytes: int = CACHE_BYTES,
        checkpoint_pages: int = CHECKPOINT_PAGES,
    ) -> None:
        """Open (creating if needed) the database at path and make sure the schema exists."""
        self.path = Path(path)
        self._lock = threading.Lock()
        # Autocommit mode: transactions are explicit, so a commit happens exactly where written.
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute(f"PRAGMA cache_size = {-(cache_bytes // 1024)}")  # negative: KiB
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {checkpoint_pages}")
        # FULL: once the receiver has answered 200, the spans survive even a power cut.
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.executescript(_SCHEMA)
        self._add_missing_columns()
        for index in _DROPPED_INDEXES:
            self._conn.execute(f"DROP INDEX IF EXISTS {index}")

    def _add_missing_columns(self) -> None:
        """Bring a database written by an older version up to the current columns."""
        present = {row["name"] for row in self._conn.execute("PRAGMA table_info(spans)")}
        for column, definition in _ADDED_COLUMNS.items():
            if column not in present:
                self._conn.execute(f"ALTER TABLE spans ADD COLUMN {column} {definition}")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TraceStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def insert(self, spans: Sequence[SpanRecord], position: LogPosition | None = None) -> int:
        """Store spans in one transaction, replacing any already stored with the same ids.

        A followed log's position is saved in the same transaction as the spans read up to it.
        """
        rows = _to_rows(spans)
        if not rows and position is None:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT, rows)
                if position is not None:
                    values = (position.path, position.inode, position.offset)
                    self._conn.execute(_SAVE_POSITION, values)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(rows)

    def prune(
        self,
        retention: Retention,
        now: float | None = None,
        *,
        between_steps: Callable[[], None] = _yield_to_writers,
    ) -> int:
        """Drop whole traces past the retention's age or size limit; return the spans dropped.

        The work goes in bounded steps (``retention.STEP_SPANS``), the store's lock taken for each
        step alone and ``between_steps`` called after each, so an export that arrives meanwhile is
        committed within a step rather than after the whole round.
        """
        removed = 0
        while True:
            with self._lock:
                dropped = prune_step(self._conn, retention, now)
            if not dropped:
                return removed
            removed += dropped
            between_steps()

    def used_bytes(self) -> int:
        """Return the bytes the stored spans take in the database file."""
        with self._lock:
            return used_bytes(self._conn)

    def log_position(self, path: str) -> LogPosition | None:
        """Return how far the log at path has been read, if it was ever followed."""
        with self._lock:
            row = self._conn.execute(
                "SELECT inode, byte_offset FROM log_positions WHERE path = ?", [path]
            ).fetchone()
        return None if row is None else LogPosition(path, row["inode"], row["byte_offset"])

    def recent_traces(
        self, limit: int = 20, filters: TraceFilter | None = None
    ) -> list[TraceSummary]:
        """Return the most recently started traces that pass the filters, newest first."""
        query, params = _recent_query(filters or TraceFilter())
        with self._lock:
            groups = self._conn.execute(query, [*params, limit]).fetchall()
            spans_by_trace = self._light_spans([group["trace_id"] for group in groups])
        return [_summary(group, spans_by_trace.get(group["trace_id"], [])) for group in groups]

    def services(self) -> list[str]:
        """Return every service name that has a stored span, sorted."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT service_name FROM spans ORDER BY service_name"
            ).fetchall()
        return [row[0] for row in rows]

    def routes(self) -> list[str]:
        """Return every gateway route name recorded on a stored span, sorted."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT DISTINCT {_ROUTE} AS route FROM spans "  # noqa: S608
                "WHERE route IS NOT NULL ORDER BY route"
            ).fetchall()
        return [str(row[0]) for row in rows]

    def linking_spans(self, trace_id: str, limit: int = 50) -> list[SpanRef]:
        """Return spans of other traces whose links point into this trace (shadow comparisons)."""
        needle = f'%"trace_id":"{trace_id.lower()}"%'
        with self._lock:
            rows = self._conn.execute(
                "SELECT trace_id, span_id, name, service_name FROM spans "
                "WHERE links LIKE ? AND trace_id != ? ORDER BY start_unix_nano LIMIT ?",
                [needle, trace_id.lower(), limit],
            ).fetchall()
        return [SpanRef(row[0], row[1], row[2], row[3]) for row in rows]

    def _light_spans(self, trace_ids: list[str]) -> dict[str, list[sqlite3.Row]]:
        """Fetch the columns a summary needs for every span of the given traces."""
        if not trace_ids:
            return {}
        marks = ", ".join("?" for _ in trace_ids)
        rows = self._conn.execute(
            "SELECT trace_id, span_id, parent_span_id, name, service_name, start_unix_nano "  # noqa: S608
            f"FROM spans WHERE trace_id IN ({marks}) ORDER BY start_unix_nano, span_id",
            trace_ids,
        ).fetchall()
        grouped: dict[str, list[sqlite3.Row]] = {}
        for row in rows:
            grouped.setdefault(row["trace_id"], []).append(row)
        return grouped

    def spans(self, trace_id: str) -> list[SpanRecord]:
        """Return every stored span of a trace, ordered by start time."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_unix_nano, span_id",
                [trace_id.lower()],
            ).fetchall()
        return [_from_row(row) for row in rows]

    def trace_ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Return up to limit stored trace ids that start with a hex prefix."""
        low = prefix.lower()
        # Every hex digit sorts below "g", so this range is exactly "starts with low" on the index.
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT trace_id FROM spans WHERE trace_id >= ? AND trace_id < ? "
                "ORDER BY trace_id LIMIT ?",
                [low, low + "g", limit],
            ).fetchall()
        return [row["trace_id"] for row in rows]


def _recent_query(filters: TraceFilter) -> tuple[str, list[Any]]:
    """Return the listing query and its parameters (the limit is appended by the caller)."""
    where: list[str] = []
    having: list[str] = []
    params: list[Any] = []
    if filters.service:
        where.append(_BY_SERVICE)
        params.append(filters.service)
    if filters.route:
        where.append(_BY_ROUTE)
        params.append(filters.route)
    if filters.side:
        where.append(_BY_SIDE)
        params.append(filters.side)
    if filters.hide_internal:
        where.append(_INTERNAL)
    if filters.error is not None:
        having.append("MAX(status_code = 'ERROR') = ?")
        params.append(int(filters.error))
    if filters.min_duration_ms is not None:
        having.append("MAX(end_unix_nano) - MIN(start_unix_nano) >= ?")
        params.append(round(filters.min_duration_ms * NANOS_PER_MS))
    query = _RECENT.format(
        where=f"WHERE {' AND '.join(where)}" if where else "",
        having=f"HAVING {' AND '.join(having)}" if having else "",
        order=ORDERS[filters.order],
    )
    return query, params


def _to_rows(spans: Sequence[SpanRecord]) -> list[tuple[Any, ...]]:
    """Return the rows of spans, encoding each resource's attributes once.

    The spans of one export share their resource's attributes (one dict per resource), and most
    spans have no events or links: per span, encoding the resource once per export and writing
    an empty list as it is took the rows from 8.8 to 3.4 µs.
    """
    resources: dict[int, str] = {}  # by the dict's id: every span, and so its dict, is alive here
    rows = []
    for span in spans:
        key = id(span.resource_attributes)
        if key not in resources:
            resources[key] = _dumps(span.resource_attributes)
        rows.append(_to_row(span, resources[key]))
    return rows


def _to_row(span: SpanRecord, resource_json: str) -> tuple[Any, ...]:
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.kind,
        span.service_name,
        span.start_unix_nano,
        span.end_unix_nano,
        span.status.code,
        span.status.message,
        _dumps(span.attributes),
        _dumps([asdict(event) for event in span.events]) if span.events else "[]",
        _dumps([asdict(link) for link in span.links]) if span.links else "[]",
        resource_json,
        span.scope_name,
        span.trace_state,
    )


# One encoder for every row: json.dumps with any option set builds a new one per call.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _from_row(row: sqlite3.Row) -> SpanRecord:
    return SpanRecord(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        kind=row["kind"],
        service_name=row["service_name"],
        start_unix_nano=row["start_unix_nano"],
        end_unix_nano=row["end_unix_nano"],
        status=SpanStatus(row["status_code"], row["status_message"]),
        attributes=json.loads(row["attributes"]),
        events=[SpanEvent(**event) for event in json.loads(row["events"])],
        links=[SpanLink(**link) for link in json.loads(row["links"])],
        resource_attributes=json.loads(row["resource_attributes"]),
        scope_name=row["scope_name"],
        trace_state=row["trace_state"],
    )


def _summary(group: sqlite3.Row, spans: list[sqlite3.Row]) -> TraceSummary:
    root = _root_of(spans)
    return TraceSummary(
        trace_id=group["trace_id"],
        root_name=root["name"] if root else "",
        root_service=root["service_name"] if root else "",
        services=frozenset(span["service_name"] for span in spans),
        span_count=group["span_count"],
        start_unix_nano=group["start_nano"],
        end_unix_nano=group["end_nano"],
        error=bool(group["error"]),
        route=None if group["route"] is None else str(group["route"]),
    )


def _root_of(spans: list[sqlite3.Row]) -> sqlite3.Row | None:
    """Pick the span that started the trace: a true root, else the earliest orphan or span."""
    ids = {span["span_id"] for span in spans}
    roots = [span for span in spans if not span["parent_span_id"]]
    orphans = [span for span in spans if span["parent_span_id"] not in ids]
    # spans arrive ordered by start time, so the first candidate is the earliest.
    for candidates in (roots, orphans, spans):
        if candidates:
            return candidates[0]
    return None
