"""How much history the trace store keeps: traces older than an age, or past a size, are dropped.

A load run writes spans by the hundred thousand and nothing else ever removes them; left alone
the database grows until the disk is full and every listing slows down. Both limits are settings
(``--max-age`` and ``--max-size`` of ``tracestore serve``). Whole traces go, oldest first: a
trace cut in half would show a waterfall with a hole in it, which is worse than no trace.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

NANOS_PER_SECOND = 1_000_000_000
# A week, and 256 MB: a long load study fits, and a laptop's disk does not notice.
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600.0
DEFAULT_MAX_BYTES = 256_000_000
# Over the size limit, each step drops the traces of this share of the spans (at least one):
# small steps, so the store ends just under its limit rather than far below it.
_SHARE_PER_STEP = 0.02
STEP_SPANS = 2_000
"""The most spans whose traces one step drops, in one transaction. The receiver commits nothing
while a step runs, and a service's exporter drops spans once its queue (2,048 by default) fills:
a round dropping 57,000 spans in one transaction held the store 1.4 s on a quiet machine, and
under core's hop at 500 requests a second such a round cost rag and core's gRPC server about 400
spans each. A step of 2,000 spans takes 16-44 ms of CPU."""

# Both deletions find their traces through the indexes (spans by start time, and the primary key
# for a trace's other spans), so a round costs what it removes, not a pass over every span: a
# store holds hundreds of thousands of spans after a load run, and a round runs every minute.
# A trace is past the age limit when every span of it ended before the cutoff; only a trace with
# a span that started before it can be.
_OLDER_THAN = """
DELETE FROM spans WHERE trace_id IN (
    SELECT trace_id FROM spans
    WHERE trace_id IN (
        SELECT trace_id FROM spans WHERE start_unix_nano < :cutoff
        ORDER BY start_unix_nano LIMIT :spans
    )
    GROUP BY trace_id HAVING MAX(end_unix_nano) < :cutoff
)
"""
# The traces of the oldest spans are the traces that started first.
_OLDEST = """
DELETE FROM spans WHERE trace_id IN (
    SELECT trace_id FROM spans ORDER BY start_unix_nano LIMIT :spans
)
"""
# Each span has its own rowid in this range: an upper bound on the spans, without counting them.
_SPANS_AT_MOST = "SELECT COALESCE(MAX(rowid) - MIN(rowid) + 1, 0) FROM spans"


@dataclass(frozen=True)
class Retention:
    """The limits: keep traces younger than ``max_age_seconds`` and at most ``max_bytes``."""

    max_age_seconds: float | None = DEFAULT_MAX_AGE_SECONDS
    max_bytes: int | None = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_age_seconds is not None and self.max_age_seconds <= 0:
            raise ValueError("the maximum age must be more than 0 seconds")
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise ValueError("the maximum size must be more than 0 bytes")


def used_bytes(conn: sqlite3.Connection) -> int:
    """Return the bytes the database's live pages take (free pages are reused, not counted)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def prune_step(conn: sqlite3.Connection, retention: Retention, now: float | None = None) -> int:
    """Drop, in one transaction, the traces of at most about ``STEP_SPANS`` spans past a limit.

    Traces past the age limit go first, then the oldest while the store is over its size; whole
    traces go, so a step may drop a few more spans than that. Returns the spans dropped: 0 once
    the store is within both limits (call again until then; ``TraceStore.prune`` does).
    """
    if retention.max_age_seconds is not None:
        cutoff = ((now or time.time()) - retention.max_age_seconds) * NANOS_PER_SECOND
        dropped = _delete(conn, _OLDER_THAN, {"cutoff": int(cutoff), "spans": STEP_SPANS})
        if dropped:
            return dropped
    if retention.max_bytes is not None and used_bytes(conn) > retention.max_bytes:
        (spans,) = conn.execute(_SPANS_AT_MOST).fetchone()
        share = max(1, int(spans * _SHARE_PER_STEP))
        return _delete(conn, _OLDEST, {"spans": min(share, STEP_SPANS)})
    return 0


def _delete(conn: sqlite3.Connection, statement: str, values: dict[str, int]) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        count = conn.execute(statement, values).rowcount
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return max(count, 0)
