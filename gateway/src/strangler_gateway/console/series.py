"""A route's traffic per side as short time series: requests/s, error rate, p50 and p99.

The console's small charts show the last few minutes in equal buckets, so a change (a shift, a
fault switched on) shows as a step where it happened, not as a slow drift of one average.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from strangler_gateway.console.live import entry_time

__all__ = ["SIDES", "Series", "decided_side", "is_error", "side_series"]

SIDES = ("legacy", "new")


@dataclass(frozen=True)
class Series:
    """One side's figures per bucket, oldest bucket first (None: no request in that bucket)."""

    side: str
    bucket_seconds: float
    rate: tuple[float, ...]
    error_rate: tuple[float | None, ...]
    p50_ms: tuple[float | None, ...]
    p99_ms: tuple[float | None, ...]


def decided_side(entry: dict[str, Any]) -> str:
    """Return the side the split chose for a request (a fallback was sent to new first)."""
    return "new" if entry.get("fallback") is True else str(entry.get("target", ""))


def is_error(entry: dict[str, Any]) -> bool:
    """Return whether a request failed on the side that was asked (5xx, or fell back)."""
    return entry.get("fallback") is True or int(entry.get("status") or 0) >= 500


def side_series(
    entries: Iterable[dict[str, Any]],
    route: str,
    *,
    buckets: int,
    bucket_seconds: float,
    now: datetime | None = None,
) -> dict[str, Series]:
    """Return each side's series for ``route`` over the last ``buckets`` buckets."""
    end = now or datetime.now(UTC)
    start = end - timedelta(seconds=buckets * bucket_seconds)
    grouped: dict[str, list[list[dict[str, Any]]]] = {
        side: [[] for _ in range(buckets)] for side in SIDES
    }
    for entry in entries:
        side = decided_side(entry)
        if entry.get("route") != route or side not in grouped:
            continue
        index = int((entry_time(entry) - start).total_seconds() // bucket_seconds)
        if 0 <= index < buckets:
            grouped[side][index].append(entry)
    return {side: _series(side, grouped[side], bucket_seconds) for side in SIDES}


def _series(side: str, buckets: list[list[dict[str, Any]]], seconds: float) -> Series:
    return Series(
        side=side,
        bucket_seconds=seconds,
        rate=tuple(len(bucket) / seconds for bucket in buckets),
        error_rate=tuple(_error_rate(bucket) for bucket in buckets),
        p50_ms=tuple(_percentile(bucket, 50) for bucket in buckets),
        p99_ms=tuple(_percentile(bucket, 99) for bucket in buckets),
    )


def _error_rate(bucket: list[dict[str, Any]]) -> float | None:
    return sum(1 for entry in bucket if is_error(entry)) / len(bucket) if bucket else None


def _percentile(bucket: list[dict[str, Any]], percent: int) -> float | None:
    times = sorted(float(entry.get("request_time") or 0.0) * 1000 for entry in bucket)
    if not times:
        return None
    if len(times) == 1:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[percent - 1]
