"""What a route's traffic looked like, per side, read from the gateway's JSON access log.

Requests, error rate and latency per side tell whether the new service is ready for more users;
but they are only trustworthy when the traffic really was split as configured. A sample ratio
mismatch (SRM) — more or fewer users on new than the configured share predicts — means the
split itself is broken (users lost on one side, a sticky key that changes, a client that picks
its side), so ``route_stats`` always checks the observed split against the configured one with a
chi-square goodness-of-fit test before any comparison is believed.

Requests are counted by the side the split chose: a request that new failed and legacy answered
(a fallback) counts on new, as an error, because new is what was being measured. The SRM check
counts users instead (the log's ``unit``; a request without a sticky key is a user of its own):
the split assigns users, and one busy user on a side would skew a count of requests without
anything being wrong with the split.
"""

import json
import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from strangler_gateway.errors import GatewayError
from strangler_gateway.routetable import Mode, Route

__all__ = [
    "SRM_ALPHA",
    "RouteStats",
    "SideStats",
    "SrmVerdict",
    "read_entries",
    "route_stats",
    "sample_ratio_mismatch",
]

# The usual SRM threshold: strict, because the test runs on every look at the numbers.
SRM_ALPHA = 0.001
# Below this many expected requests on a side the chi-square approximation is not trusted.
_MIN_EXPECTED = 5
SIDES = ("legacy", "new")


@dataclass(frozen=True)
class SideStats:
    """One side's requests over the window."""

    side: str
    requests: int
    errors: int
    fallbacks: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float | None:
        """Return errors / requests, or None without requests."""
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class SrmVerdict:
    """The observed split of users against the configured one."""

    expected_new_percent: int
    legacy: int
    new: int
    p_value: float | None
    mismatch: bool
    reason: str

    @property
    def observed_new_percent(self) -> float | None:
        """Return the observed share (0..100) of users on new, or None without users."""
        total = self.legacy + self.new
        return 100 * self.new / total if total else None


@dataclass(frozen=True)
class RouteStats:
    """A route's traffic over a window: both sides and the SRM verdict."""

    route: str
    window_seconds: float
    sides: tuple[SideStats, ...]
    srm: SrmVerdict

    def side(self, name: str) -> SideStats:
        """Return the stats of side ``name`` ("legacy" or "new")."""
        return next(side for side in self.sides if side.side == name)


def read_entries(log: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON lines of an access log, skipping lines that are not JSON objects."""
    try:
        handle = log.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GatewayError(f"cannot read the access log {log}: {exc.strerror}") from exc
    with handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash or rotation is not the operator's problem
            if isinstance(entry, dict):
                yield entry


def recorded_trace(entry: dict[str, Any]) -> str:
    """Return the id of the request's trace when the trace store has it, else ``""``.

    A trace the gateway did not sample (``trace_sample_percent`` below 100, or a client's own
    unsampled ``traceparent``) was recorded nowhere, so no link should lead to it.
    """
    return "" if entry.get("sampled") is False else str(entry.get("trace_id") or "")


def route_stats(
    entries: Iterable[dict[str, Any]],
    route: Route,
    *,
    window_seconds: float,
    now: datetime | None = None,
) -> RouteStats:
    """Return ``route``'s per-side stats and SRM verdict over the last ``window_seconds``."""
    since = (now or datetime.now(UTC)) - timedelta(seconds=window_seconds)
    recent = [e for e in entries if e.get("route") == route.name and _time(e) >= since]
    sides = tuple(_side_stats(side, [e for e in recent if _decided(e) == side]) for side in SIDES)
    live = [e for e in recent if _under_current_split(e, route)]
    counts = {side: _units([e for e in live if _decided(e) == side]) for side in SIDES}
    srm = sample_ratio_mismatch(counts["legacy"], counts["new"], route.new_percent)
    if route.mode is not Mode.CANARY:
        srm = _not_split(route, srm)
    return RouteStats(route.name, window_seconds, sides, srm)


def sample_ratio_mismatch(
    legacy: int, new: int, new_percent: int, *, alpha: float = SRM_ALPHA
) -> SrmVerdict:
    """Test the observed legacy/new users against a ``new_percent`` % split (chi-square)."""
    total = legacy + new
    expected = [total * (100 - new_percent) / 100, total * new_percent / 100]
    if new_percent in (0, 100):
        # One side is expected to be empty: any request on it is a mismatch, no test needed.
        stray = new if new_percent == 0 else legacy
        reason = f"{stray} user(s) on a side configured to get none" if stray else "ok"
        return SrmVerdict(new_percent, legacy, new, None, stray > 0, reason)
    if min(expected) < _MIN_EXPECTED:
        reason = f"not enough traffic to test ({total} users)"
        return SrmVerdict(new_percent, legacy, new, None, False, reason)
    # Imported here: scipy takes a second to load, and only this check needs it.
    from scipy.stats import chisquare

    p_value = float(chisquare([legacy, new], f_exp=expected).pvalue)
    mismatch = p_value < alpha
    reason = f"sample ratio mismatch (p = {p_value:.2g} < {alpha})" if mismatch else "ok"
    return SrmVerdict(new_percent, legacy, new, p_value, mismatch, reason)


def _not_split(route: Route, srm: SrmVerdict) -> SrmVerdict:
    if srm.mismatch:
        return srm
    reason = f"mode '{route.mode}' does not split users (every request to one side)"
    return SrmVerdict(srm.expected_new_percent, srm.legacy, srm.new, None, False, reason)


def _side_stats(side: str, entries: list[dict[str, Any]]) -> SideStats:
    times = sorted(float(e.get("request_time") or 0.0) * 1000 for e in entries)
    errors = sum(1 for e in entries if _is_error(e))
    fallbacks = sum(1 for e in entries if e.get("fallback") is True)
    return SideStats(side, len(entries), errors, fallbacks, _percentile(times, 50),
                     _percentile(times, 99))  # fmt: skip


def _percentile(sorted_values: list[float], percent: int) -> float | None:
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    cuts = statistics.quantiles(sorted_values, n=100, method="inclusive")
    return cuts[percent - 1] if percent < 100 else sorted_values[-1]


def _decided(entry: dict[str, Any]) -> str:
    """Return the side the split chose (a fallback was sent to new first)."""
    return "new" if entry.get("fallback") is True else str(entry.get("target", ""))


def _units(entries: list[dict[str, Any]]) -> int:
    """Return how many users the entries come from (a line without a unit is one of its own)."""
    units = {entry["unit"] for entry in entries if entry.get("unit")}
    return len(units) + sum(1 for entry in entries if not entry.get("unit"))


def _is_error(entry: dict[str, Any]) -> bool:
    return entry.get("fallback") is True or int(entry.get("status") or 0) >= 500


def _under_current_split(entry: dict[str, Any], route: Route) -> bool:
    # Only traffic split the way the route is split now, and not forced by a tester's override.
    return (
        entry.get("mode") == str(route.mode)
        and entry.get("split") == route.new_percent
        and not entry.get("override")
    )


def _time(entry: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(entry.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_ms(value: float | None) -> str:
    """Return milliseconds for a table cell ("-" when unknown)."""
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"
