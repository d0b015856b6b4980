"""A route's shadow parity over time and per field, read from the comparator's database.

``strangler shadow`` gives one parity rate for a window; a person deciding whether to promote
wants to see whether it is getting better, and which fields of the answer still differ. This
reads the same database (read-only, beside the comparator writing it).
"""

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.shadow.models import ShadowError
from strangler_gateway.shadow.report import ShadowReport, shadow_report
from strangler_gateway.shadow.store import connect

__all__ = ["FieldDiffs", "Parity", "read_parity"]

_BUCKETS = """
SELECT CAST((time - :since) / :seconds AS INTEGER) AS bucket,
    SUM(outcome = 'match'), SUM(outcome = 'diff')
FROM comparisons WHERE route = :route AND time >= :since GROUP BY bucket
"""
_FIELDS = """
SELECT json_extract(differing.value, '$.path') AS field, COUNT(*) AS times
FROM comparisons, json_each(comparisons.diff) AS differing
WHERE comparisons.route = :route AND comparisons.time >= :since AND outcome = 'diff'
GROUP BY field ORDER BY times DESC, field LIMIT 20
"""


@dataclass(frozen=True)
class FieldDiffs:
    """How many recent comparisons found a given JSON path different."""

    path: str
    times: int


@dataclass(frozen=True)
class Parity:
    """A route's shadow evidence: the report, parity per time bucket, and differing fields."""

    report: ShadowReport
    bucket_seconds: float
    per_bucket: tuple[float | None, ...]
    fields: tuple[FieldDiffs, ...]


def read_parity(
    db: Path, route: str, *, window_seconds: float, buckets: int, now: float | None = None
) -> Parity | None:
    """Return ``route``'s parity over the window, or None when there is no shadow database."""
    if not db.is_file():
        return None
    try:
        report = shadow_report(db, route, window_seconds=window_seconds)
    except ShadowError:
        return None
    since = (now or time.time()) - window_seconds
    seconds = window_seconds / buckets
    params = {"route": route, "since": since, "seconds": seconds}
    connection = connect(db, read_only=True)
    try:
        counts = {row[0]: (row[1], row[2]) for row in connection.execute(_BUCKETS, params)}
        fields = tuple(FieldDiffs(str(p), int(n)) for p, n in connection.execute(_FIELDS, params))
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    per_bucket = tuple(_rate(*counts.get(index, (0, 0))) for index in range(buckets))
    return Parity(report, seconds, per_bucket, fields)


def _rate(matches: int, diffs: int) -> float | None:
    return matches / (matches + diffs) if matches + diffs else None
