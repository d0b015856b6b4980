"""SQLite persistence for received spans: the one place that knows the table layout.

SQLite keeps the local stack free of Docker and servers. WAL mode lets `traces list` read while the
receiver writes; every export is one transaction, and (trace_id, span_id) is the key, so a batch an
exporter re-sends after a lost response replaces its spans instead of duplicating them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from tracestore.models import SpanEvent, SpanLink, SpanRecord, SpanStatus, TraceSummary

BUSY_TIMEOUT_MS = 5000

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
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_trace_start ON spans (trace_id, start_unix_nano);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_unix_nano);
CREATE INDEX IF NOT EXISTS spans_by_service ON spans (service_name, trace_id);
"""

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
)
_KEY = ("trace_id", "span_id")
_UPSERT = (
    f"INSERT INTO spans ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "  # noqa: S608
    "ON CONFLICT (trace_id, span_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS if column not in _KEY)
)

_RECENT = """
SELECT trace_id, MIN(start_unix_nano) AS start_nano, MAX(end_unix_nano) AS end_nano,
       COUNT(*) AS span_count, MAX(status_code = 'ERROR') AS error
FROM spans
{where}
GROUP BY trace_id
ORDER BY start_nano DESC
LIMIT ?
"""
_BY_SERVICE = "WHERE trace_id IN (SELECT trace_id FROM spans WHERE service_name = ?)"


class TraceStore:
    """Spans in one SQLite file, safe to share between the receiver's worker threads."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the database at path and make sure the schema exists."""
        self.path = Path(path)
        self._lock = threading.Lock()
        # Autocommit mode: transactions are explicit, so a commit happens exactly where written.
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        # FULL: once the receiver has answered 200, the spans survive even a power cut.
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.executescript(_SCHEMA)

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

    def insert(self, spans: Sequence[SpanRecord]) -> int:
        """Store spans in one transaction, replacing any already stored with the same ids."""
        rows = [_to_row(span) for span in spans]
        if not rows:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(rows)

    def recent_traces(self, limit: int = 20, service: str | None = None) -> list[TraceSummary]:
        """Return the most recently started traces, newest first, optionally touching service."""
        where, params = (_BY_SERVICE, [service]) if service else ("", [])
        with self._lock:
            groups = self._conn.execute(_RECENT.format(where=where), [*params, limit]).fetchall()
            spans_by_trace = self._light_spans([group["trace_id"] for group in groups])
        return [_summary(group, spans_by_trace.get(group["trace_id"], [])) for group in groups]

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


def _to_row(span: SpanRecord) -> tuple[Any, ...]:
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
        _dumps([asdict(event) for event in span.events]),
        _dumps([asdict(link) for link in span.links]),
        _dumps(span.resource_attributes),
        span.scope_name,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
