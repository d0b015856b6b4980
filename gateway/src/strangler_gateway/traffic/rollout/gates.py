"""The gates a step must hold, each decided by a statistical test suited to its metric.

Like Kayenta, a gate compares the new side with legacy measured in the same window, and a test
says whether a difference is real: a small sample can then neither pass a bad canary nor fail a
good one by chance. Each gate ends in one of three verdicts:

- ``fail``: the limit is broken with the plan's confidence (the test's p-value below 1 - it);
- ``pass``: there is enough evidence and the measured values are within the limits;
- ``inconclusive``: too few samples, or a value past its limit that the test cannot yet confirm.

Tests: errors, a one-sided two-proportion z-test (new's error rate worse than legacy's by more
than the margin) and an exact binomial test against the success floor; latency, a one-sided
Mann-Whitney U test of new's latencies against legacy's scaled by the factor, and a binomial test
of the share of new requests above the ceiling (more than 1 % above it is a p99 above it); parity,
a binomial test of matches against the parity share; split, the sample-ratio-mismatch chi-square
test of ``strangler stats``.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from strangler_gateway.traffic.rollout.evidence import SideSample, StepEvidence, percentile
from strangler_gateway.traffic.rollout.plan import Gates, Plan
from strangler_gateway.traffic.stats import sample_ratio_mismatch

__all__ = ["GateResult", "Parity", "errors_gate", "latency_gate", "parity_gate", "split_gate"]

Verdict = Literal["pass", "fail", "inconclusive"]
# Below this absolute difference two p99s are the same: timer noise, not a slower service.
LATENCY_SLACK_MS = 10.0


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict, with its numbers, its test and the reason in words."""

    name: str
    verdict: Verdict
    test: str
    p_value: float | None
    confidence: float
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the verdict as the ledger writes it."""
        return {
            "name": self.name,
            "verdict": self.verdict,
            "test": self.test,
            "p_value": None if self.p_value is None else round(self.p_value, 6),
            "confidence": self.confidence,
            "numbers": self.numbers,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Parity:
    """The shadow comparisons finished in a window: matches and diffs."""

    matches: int
    diffs: int

    @property
    def compared(self) -> int:
        """Return the conclusive comparisons (timeouts and errors are neither)."""
        return self.matches + self.diffs

    @property
    def rate(self) -> float | None:
        """Return matches over conclusive comparisons."""
        return self.matches / self.compared if self.compared else None


def _missing(evidence: StepEvidence, plan: Plan) -> str | None:
    short = []
    for name in ("legacy", "new"):
        side = evidence.side(name)
        if side.requests < plan.min_requests:
            short.append(f"{side.requests}/{plan.min_requests} requests on {name}")
        if side.users < plan.min_users:
            short.append(f"{side.users}/{plan.min_users} users on {name}")
    return ", ".join(short) if short else None


def errors_gate(evidence: StepEvidence, plan: Plan) -> GateResult:
    """Judge new's success rate against the floor and against legacy's in the same window."""
    gates, new, legacy = plan.gates, evidence.new, evidence.legacy
    test = (f"two-proportion z-test (one-sided, margin {gates.error_margin:.2%}) and exact "
            f"binomial test against the {gates.success_floor:.2%} success floor")  # fmt: skip
    numbers = {"legacy_error_rate": _rate(legacy), "new_error_rate": _rate(new),
               "legacy_errors": legacy.errors, "new_errors": new.errors,
               "floor": gates.success_floor, "margin": gates.error_margin}  # fmt: skip
    missing = _missing(evidence, plan)
    if missing is not None:
        return _result(
            "errors", "inconclusive", test, None, gates, f"too few samples: {missing}", numbers
        )
    floor_p = _binomial_greater(new.errors, new.requests, 1 - gates.success_floor)
    margin_p = _two_proportion_greater(new, legacy, gates.error_margin)
    p_value = min(floor_p, margin_p)
    new_rate, old_rate = new.errors / new.requests, legacy.errors / legacy.requests
    rates = (
        f"new {new_rate:.2%} ({new.errors}/{new.requests}) vs "
        f"legacy {old_rate:.2%} ({legacy.errors}/{legacy.requests})"
    )
    if floor_p < gates.alpha:
        why = f"new's success rate is below the {gates.success_floor:.2%} floor: {rates}"
        return _result("errors", "fail", test, floor_p, gates, why, numbers)
    if margin_p < gates.alpha:
        why = f"new's error rate exceeds legacy's by over {gates.error_margin:.2%}: {rates}"
        return _result("errors", "fail", test, margin_p, gates, why, numbers)
    if new_rate <= 1 - gates.success_floor and new_rate - old_rate <= gates.error_margin:
        return _result("errors", "pass", test, p_value, gates, f"within limits: {rates}", numbers)
    why = f"past a limit but not yet with {gates.confidence:.0%} confidence: {rates}"
    return _result("errors", "inconclusive", test, p_value, gates, why, numbers)


def latency_gate(evidence: StepEvidence, plan: Plan) -> GateResult:
    """Judge new's p99 against the ceiling and against legacy's p99 times the factor."""
    gates, new, legacy = plan.gates, evidence.new, evidence.legacy
    test = (
        f"Mann-Whitney U (one-sided) of new against legacy x {gates.latency_factor:g}, and "
        f"binomial test of the share above the {gates.latency_ceiling_ms:g} ms ceiling"
    )
    new_p99 = percentile(sorted(new.latencies_ms), 99)
    old_p99 = percentile(sorted(legacy.latencies_ms), 99)
    numbers = {"legacy_p99_ms": _ms(old_p99), "new_p99_ms": _ms(new_p99),
               "ceiling_ms": gates.latency_ceiling_ms, "factor": gates.latency_factor}  # fmt: skip
    missing = _missing(evidence, plan)
    if missing is not None or new_p99 is None or old_p99 is None:
        why = f"too few samples: {missing}"
        return _result("latency", "inconclusive", test, None, gates, why, numbers)
    limit = max(old_p99 * gates.latency_factor, old_p99 + LATENCY_SLACK_MS)
    numbers["relative_limit_ms"] = _ms(limit)
    above = sum(1 for ms in new.latencies_ms if ms > gates.latency_ceiling_ms)
    ceiling_p = _binomial_greater(above, new.requests, 0.01)
    relative_p = _mann_whitney_greater(new.latencies_ms, legacy.latencies_ms, gates.latency_factor)
    p99s = f"new p99 {new_p99:.1f} ms vs legacy p99 {old_p99:.1f} ms"
    if ceiling_p < gates.alpha and new_p99 > gates.latency_ceiling_ms:
        why = f"new's p99 is above the {gates.latency_ceiling_ms:g} ms ceiling: {p99s}"
        return _result("latency", "fail", test, ceiling_p, gates, why, numbers)
    if relative_p < gates.alpha and new_p99 > limit:
        why = f"new is slower than legacy x {gates.latency_factor:g} (limit {limit:.1f} ms): {p99s}"
        return _result("latency", "fail", test, relative_p, gates, why, numbers)
    p_value = min(ceiling_p, relative_p)
    if new_p99 <= gates.latency_ceiling_ms and new_p99 <= limit:
        return _result("latency", "pass", test, p_value, gates, f"within limits: {p99s}", numbers)
    why = f"past a limit but not yet with {gates.confidence:.0%} confidence: {p99s}"
    return _result("latency", "inconclusive", test, p_value, gates, why, numbers)


def parity_gate(parity: Parity, plan: Plan) -> GateResult:
    """Judge the share of shadow comparisons whose answers matched after noise cancellation."""
    gates = plan.gates
    test = f"binomial test (one-sided) of matches against a {gates.parity:.2%} parity share"
    numbers = {"compared": parity.compared, "matches": parity.matches, "diffs": parity.diffs,
               "parity_required": gates.parity}  # fmt: skip
    if parity.compared < plan.min_comparisons:
        why = f"too few comparisons: {parity.compared}/{plan.min_comparisons}"
        return _result("parity", "inconclusive", test, None, gates, why, numbers)
    from scipy.stats import binomtest

    p_value = float(
        binomtest(parity.matches, parity.compared, gates.parity, alternative="less").pvalue
    )
    share = f"{parity.matches}/{parity.compared} answers matched ({parity.rate:.2%})"
    if p_value < gates.alpha:
        why = f"parity below {gates.parity:.2%}: {share}"
        return _result("parity", "fail", test, p_value, gates, why, numbers)
    if (parity.rate or 0.0) >= gates.parity:
        return _result("parity", "pass", test, p_value, gates, share, numbers)
    why = f"below {gates.parity:.2%} but not yet with {gates.confidence:.0%} confidence: {share}"
    return _result("parity", "inconclusive", test, p_value, gates, why, numbers)


def split_gate(evidence: StepEvidence, plan: Plan) -> GateResult:
    """Check the observed split of users against the configured one (sample ratio mismatch)."""
    legacy, new = len(evidence.legacy.split_units), len(evidence.new.split_units)
    srm = sample_ratio_mismatch(legacy, new, evidence.split)
    test = "chi-square goodness of fit of users per side (sample ratio mismatch, alpha 0.001)"
    numbers = {"configured_new_percent": evidence.split, "legacy_users": legacy, "new_users": new,
               "observed_new_percent": _ms(srm.observed_new_percent)}  # fmt: skip
    confidence = plan.gates.confidence
    if srm.mismatch:
        reason = f"the split is skewed: {srm.reason}"
        return GateResult("split", "fail", test, srm.p_value, confidence, reason, numbers)
    if srm.p_value is None:
        reason = f"cannot test the split yet: {srm.reason}"
        return GateResult("split", "inconclusive", test, None, confidence, reason, numbers)
    reason = f"the split holds (p = {srm.p_value:.2g})"
    return GateResult("split", "pass", test, srm.p_value, confidence, reason, numbers)


def _result(name: str, verdict: Verdict, test: str, p_value: float | None, gates: Gates,
            reason: str, numbers: dict[str, Any]) -> GateResult:  # fmt: skip
    return GateResult(name, verdict, test, p_value, gates.confidence, reason, numbers)


def _binomial_greater(successes: int, trials: int, share: float) -> float:
    from scipy.stats import binomtest

    return float(binomtest(successes, trials, share, alternative="greater").pvalue)


def _two_proportion_greater(new: SideSample, legacy: SideSample, margin: float) -> float:
    """Return the p-value of "new's error rate exceeds legacy's by more than ``margin``"."""
    from scipy.stats import norm

    p_new, p_old = new.errors / new.requests, legacy.errors / legacy.requests
    variance = p_new * (1 - p_new) / new.requests + p_old * (1 - p_old) / legacy.requests
    if variance == 0:
        return 0.0 if p_new - p_old > margin else 1.0
    return float(norm.sf((p_new - p_old - margin) / math.sqrt(variance)))


def _mann_whitney_greater(new: list[float], legacy: list[float], factor: float) -> float:
    """Return the p-value of "new's latencies are larger than legacy's times ``factor``"."""
    from scipy.stats import mannwhitneyu

    scaled = [max(ms * factor, ms + LATENCY_SLACK_MS) for ms in legacy]
    return float(mannwhitneyu(new, scaled, alternative="greater").pvalue)


def _rate(side: SideSample) -> float | None:
    return None if side.error_rate is None else round(side.error_rate, 6)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
