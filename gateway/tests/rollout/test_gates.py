"""Each gate decides with a test: a small sample cannot pass a bad canary or fail a good one."""

import random

from strangler_gateway.traffic.rollout.evidence import StepEvidence
from strangler_gateway.traffic.rollout.gates import (
    Parity,
    errors_gate,
    latency_gate,
    parity_gate,
    split_gate,
)
from strangler_gateway.traffic.rollout.judge import judge_step
from strangler_gateway.traffic.rollout.plan import Plan, PlanStep

PLAN = Plan(
    steps=(PlanStep("canary", 50), PlanStep("migrated", 100)), min_requests=50, min_users=10
)


def _entry(side: str, user: int, *, status: int = 200, ms: float = 10.0) -> dict[str, object]:
    return {"route": "search", "target": side, "fallback": False, "status": status,
            "unit": f"u{user}", "request_time": ms / 1000, "mode": "canary", "split": 50,
            "trace_id": f"{user:032x}", "request_id": f"r{user}", "override": ""}  # fmt: skip


def _evidence(requests: int, *, new_error_every: int = 0, new_ms: float = 10.0) -> StepEvidence:
    rng = random.Random(7)
    evidence = StepEvidence("search", "canary", 50)
    entries = []
    for number in range(requests):
        side = "new" if number % 2 else "legacy"
        failing = side == "new" and new_error_every and number % (2 * new_error_every) == 1
        ms = (new_ms if side == "new" else 10.0) + rng.uniform(0, 5)
        entries.append(_entry(side, number, status=500 if failing else 200, ms=ms))
    evidence.add(entries)
    return evidence


def test_too_few_requests_are_inconclusive_whatever_they_show() -> None:
    evidence = _evidence(40, new_error_every=2)
    gate = errors_gate(evidence, PLAN)
    assert gate.verdict == "inconclusive" and "20/50 requests on new" in gate.reason


def test_a_twenty_percent_error_rate_fails_with_a_small_p_value() -> None:
    gate = errors_gate(_evidence(400, new_error_every=5), PLAN)
    assert gate.verdict == "fail" and gate.p_value is not None and gate.p_value < 0.001
    assert gate.numbers["new_errors"] == 40 and gate.numbers["legacy_errors"] == 0


def test_one_error_in_two_hundred_passes_the_one_point_margin() -> None:
    evidence = _evidence(400, new_error_every=200)
    assert evidence.new.errors == 1
    assert errors_gate(evidence, PLAN).verdict == "pass"


def test_latency_fails_against_legacy_while_the_ceiling_alone_would_pass() -> None:
    gate = latency_gate(_evidence(400, new_ms=300.0), PLAN)
    assert gate.verdict == "fail" and "slower than legacy" in gate.reason
    assert gate.numbers["new_p99_ms"] < gate.numbers["ceiling_ms"]


def test_same_latency_passes() -> None:
    assert latency_gate(_evidence(400), PLAN).verdict == "pass"


def test_parity_needs_its_comparisons_and_fails_on_diffs() -> None:
    assert parity_gate(Parity(10, 0), PLAN).verdict == "inconclusive"
    assert parity_gate(Parity(60, 0), PLAN).verdict == "pass"
    assert parity_gate(Parity(0, 60), PLAN).verdict == "fail"


def test_a_skewed_split_fails_and_an_honest_one_passes() -> None:
    assert split_gate(_evidence(400), PLAN).verdict == "pass"
    skewed = StepEvidence("search", "canary", 50)
    skewed.add([_entry("new" if n % 10 else "legacy", n) for n in range(400)])
    assert split_gate(skewed, PLAN).verdict == "fail"


def test_a_step_fails_on_one_failed_gate_and_names_it() -> None:
    judgement = judge_step(PLAN.steps[0], _evidence(400, new_error_every=5), None, PLAN)
    assert judgement.outcome == "failed" and judgement.reason.startswith("errors gate failed")
    assert _evidence(400, new_error_every=5).trace_ids(250.0)[:1] == [f"{1:032x}"]


def test_a_step_s_example_traces_are_recorded_ones_and_every_request_still_counts() -> None:
    evidence = StepEvidence("search", "canary", 50)
    failing = [_entry("new", n, status=500, ms=900.0) for n in range(1, 9, 2)]
    for entry in failing[:2]:
        entry["sampled"] = False  # the gateway did not sample these: no trace to show
    evidence.add([*failing, _entry("new", 11, ms=600.0), _entry("legacy", 12)])
    assert evidence.new.errors == 4, "an unsampled request is evidence all the same"
    assert evidence.trace_ids(250.0) == [f"{5:032x}", f"{7:032x}", f"{11:032x}"]
