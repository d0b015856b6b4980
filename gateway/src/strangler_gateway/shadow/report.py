"""A route's shadow report: how often the new service answered like the monolith, and where not.

This is the evidence for moving a route on from shadow mode: a parity rate over enough
comparisons, with the diffs that remain and the fields ignored as legacy's own noise.
"""

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strangler_gateway.routetable import Compare
from strangler_gateway.shadow.models import Outcome, PathDiff, ShadowError
from strangler_gateway.shadow.store import connect

__all__ = ["EXAMPLES", "ExampleDiff", "ShadowReport", "shadow_report"]

# A report shows this many recent diffs; the database keeps them all.
EXAMPLES = 5

_COUNTS = """
SELECT outcome, COUNT(*) FROM comparisons WHERE route = ? AND time >= ? GROUP BY outcome
"""
_DROPPED = "SELECT COALESCE(SUM(count), 0) FROM drops WHERE route = ? AND time >= ?"
_NOISE = """
SELECT noisy.value, COUNT(*) AS times
FROM comparisons, json_each(comparisons.noise) AS noisy
WHERE comparisons.route = ? AND comparisons.time >= ?
GROUP BY noisy.value ORDER BY times DESC, noisy.value
"""
_EXAMPLES = """
SELECT time, method, uri, request_id, trace_id, shadow_trace_id, rule, overlap, legacy_status,
    new_status, diff
FROM comparisons WHERE route = ? AND time >= ? AND outcome = 'diff'
ORDER BY time DESC, id DESC LIMIT ?
"""


@dataclass(frozen=True)
class ExampleDiff:
    """One recorded comparison where new answered differently from legacy."""

    time: float
    method: str
    uri: str
    request_id: str
    trace_id: str
    shadow_trace_id: str
    rule: Compare
    overlap: float | None
    legacy_status: int | None
    new_status: int | None
    diffs: tuple[PathDiff, ...]


@dataclass(frozen=True)
class ShadowReport:
    """The comparisons of one route over a window (or all of them)."""

    route: str
    window_seconds: float | None
    compared: int
    matches: int
    diffs: int
    timeouts: int
    errors: int
    dropped: int
    noise: tuple[tuple[str, int], ...]
    examples: tuple[ExampleDiff, ...]

    @property
    def parity_rate(self) -> float | None:
        """Return matches over conclusive comparisons (timeouts and errors are neither)."""
        conclusive = self.matches + self.diffs
        return self.matches / conclusive if conclusive else None


def shadow_report(
    db_path: Path, route: str, *, window_seconds: float | None = None
) -> ShadowReport:
    """Summarise the comparisons of ``route`` recorded in ``db_path`` over the last window."""
    if not db_path.is_file():
        raise ShadowError(f"no shadow database at {db_path} (is the comparator running?)")
    since = 0.0 if window_seconds is None else time.time() - window_seconds
    try:
        connection = connect(db_path, read_only=True)
        try:
            return _report(connection, route, window_seconds, since)
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise ShadowError(f"{db_path}: not a readable shadow database ({error})") from error


def _report(
    connection: sqlite3.Connection, route: str, window_seconds: float | None, since: float
) -> ShadowReport:
    counts = {Outcome(outcome): n for outcome, n in connection.execute(_COUNTS, (route, since))}
    (dropped,) = connection.execute(_DROPPED, (route, since)).fetchone()
    noise = tuple((str(path), int(n)) for path, n in connection.execute(_NOISE, (route, since)))
    rows = connection.execute(_EXAMPLES, (route, since, EXAMPLES)).fetchall()
    return ShadowReport(
        route=route,
        window_seconds=window_seconds,
        compared=sum(counts.values()),
        matches=counts.get(Outcome.MATCH, 0),
        diffs=counts.get(Outcome.DIFF, 0),
        timeouts=counts.get(Outcome.TIMEOUT, 0),
        errors=counts.get(Outcome.ERROR, 0),
        dropped=int(dropped),
        noise=noise,
        examples=tuple(_example(row) for row in rows),
    )


def _example(row: tuple[Any, ...]) -> ExampleDiff:
    stamp, method, uri, request_id, trace_id, shadow_trace_id, rule, overlap, old, new, diff = row
    return ExampleDiff(
        time=float(stamp),
        method=method,
        uri=uri,
        request_id=request_id,
        trace_id=trace_id,
        shadow_trace_id=shadow_trace_id,
        rule=Compare(rule),
        overlap=overlap,
        legacy_status=old,
        new_status=new,
        diffs=tuple(PathDiff.from_json(entry) for entry in json.loads(diff)),
    )
