"""A step's evidence: what each side did in the same window, from the gateway's access log.

Legacy is the baseline, measured at the same moment under the same load as new, so a slow
afternoon or a burst of bad input shows on both sides and is not blamed on new. Requests are
counted by the side the split chose (a fallback counts on new, as an error: new is what is being
measured); requests a tester forced to a side are left out. Users are counted by the log's
``unit`` (a pseudonym of the sticky key), and the split check counts only users split the way the
route is split now. The trace ids of new-side requests that failed or were slow are kept as
examples, so a judgement's evidence opens in the trace viewer.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from strangler_gateway.traffic.stats import recorded_trace

__all__ = ["SideSample", "StepEvidence", "percentile"]

EXAMPLES = 5


@dataclass
class SideSample:
    """One side's requests in the window: counts, latencies and the users they came from."""

    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    units: set[str] = field(default_factory=set)
    split_units: set[str] = field(default_factory=set)

    @property
    def users(self) -> int:
        """Return how many distinct users sent the requests."""
        return len(self.units)

    @property
    def error_rate(self) -> float | None:
        """Return errors / requests, or None without requests."""
        return self.errors / self.requests if self.requests else None

    def summary(self) -> dict[str, Any]:
        """Return the side's numbers as the ledger writes them."""
        ordered = sorted(self.latencies_ms)
        return {
            "requests": self.requests,
            "users": self.users,
            "errors": self.errors,
            "error_rate": 0.0 if self.error_rate is None else round(self.error_rate, 6),
            "p50_ms": _rounded(percentile(ordered, 50)),
            "p99_ms": _rounded(percentile(ordered, 99)),
        }


@dataclass
class StepEvidence:
    """Both sides' samples of one route under one step, added to as the log grows."""

    route: str
    mode: str
    split: int
    legacy: SideSample = field(default_factory=SideSample)
    new: SideSample = field(default_factory=SideSample)
    failed_traces: list[str] = field(default_factory=list)
    slow_traces: list[tuple[float, str]] = field(default_factory=list)

    def add(self, entries: Iterable[dict[str, Any]]) -> None:
        """Count the access-log ``entries`` that belong to this route and step."""
        for entry in entries:
            if entry.get("route") != self.route or entry.get("override"):
                continue
            side = "new" if entry.get("fallback") is True else str(entry.get("target", ""))
            if side == "legacy":
                self._count(self.legacy, entry)
            elif side == "new":
                self._count(self.new, entry)
                self._keep_example(entry)

    def side(self, name: str) -> SideSample:
        """Return the sample of side ``name``."""
        return self.new if name == "new" else self.legacy

    def trace_ids(self, slow_ms: float) -> list[str]:
        """Return up to five trace ids: failed new-side requests first, then the slowest."""
        slow = [trace for ms, trace in sorted(self.slow_traces, reverse=True) if ms > slow_ms]
        ids = list(dict.fromkeys([*self.failed_traces, *slow]))
        return ids[:EXAMPLES]

    def _count(self, sample: SideSample, entry: dict[str, Any]) -> None:
        sample.requests += 1
        sample.errors += _is_error(entry)
        sample.latencies_ms.append(float(entry.get("request_time") or 0.0) * 1000)
        unit = str(entry.get("unit") or "") or f"request:{entry.get('request_id')}"
        sample.units.add(unit)
        if entry.get("mode") == self.mode and entry.get("split") == self.split:
            sample.split_units.add(unit)

    def _keep_example(self, entry: dict[str, Any]) -> None:
        trace = recorded_trace(entry)
        if not trace:
            return
        if _is_error(entry) and len(self.failed_traces) < EXAMPLES:
            self.failed_traces.append(trace)
        ms = float(entry.get("request_time") or 0.0) * 1000
        self.slow_traces.append((ms, trace))
        if len(self.slow_traces) > 4 * EXAMPLES:
            self.slow_traces = sorted(self.slow_traces, reverse=True)[:EXAMPLES]


def percentile(ordered: list[float], percent: int) -> float | None:
    """Return the ``percent`` percentile of sorted values (None without values)."""
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[percent - 1] if percent < 100 else ordered[-1]


def _is_error(entry: dict[str, Any]) -> bool:
    return entry.get("fallback") is True or int(entry.get("status") or 0) >= 500


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
