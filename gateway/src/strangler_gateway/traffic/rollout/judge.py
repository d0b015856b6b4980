"""Judge one step: run its gates on the window's evidence and say passed, failed or inconclusive.

A shadow step is judged on parity alone (users are all on legacy; new answers only the
comparator); a canary step on errors, latency and the split. One failed gate fails the step; all
passed pass it; anything else leaves it inconclusive, with a sentence naming what was missing.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from strangler_gateway.traffic.rollout.evidence import StepEvidence
from strangler_gateway.traffic.rollout.gates import (
    GateResult,
    Parity,
    errors_gate,
    latency_gate,
    parity_gate,
    split_gate,
)
from strangler_gateway.traffic.rollout.plan import Plan, PlanStep

__all__ = ["Judgement", "Outcome", "judge_step", "read_parity"]

Outcome = Literal["passed", "failed", "inconclusive"]

_PARITY = """
SELECT outcome, COUNT(*) FROM comparisons
WHERE route = ? AND time > ? AND time <= ? AND outcome IN ('match', 'diff') GROUP BY outcome
"""


@dataclass(frozen=True)
class Judgement:
    """A step's outcome, its gates and the reason in one sentence."""

    outcome: Outcome
    gates: tuple[GateResult, ...]
    reason: str
    parity: Parity | None


def judge_step(
    step: PlanStep, evidence: StepEvidence, parity: Parity | None, plan: Plan
) -> Judgement:
    """Return the outcome of ``step`` on ``evidence`` (and ``parity`` for a shadow step)."""
    if step.kind == "shadow":
        gates: tuple[GateResult, ...] = (parity_gate(parity or Parity(0, 0), plan),)
    else:
        gates = (
            errors_gate(evidence, plan),
            latency_gate(evidence, plan),
            split_gate(evidence, plan),
        )
    failed = [gate for gate in gates if gate.verdict == "fail"]
    if failed:
        reason = "; ".join(f"{gate.name} gate failed: {gate.reason}" for gate in failed)
        return Judgement("failed", gates, reason, parity)
    open_gates = [gate for gate in gates if gate.verdict == "inconclusive"]
    if open_gates:
        reason = "; ".join(f"{gate.name}: {gate.reason}" for gate in open_gates)
        return Judgement("inconclusive", gates, f"not enough evidence yet ({reason})", parity)
    return Judgement("passed", gates, f"every gate held at {step}", parity)


def read_parity(db: Path, route: str, start: float, end: float) -> Parity:
    """Return the comparisons of ``route`` the comparator finished between ``start`` and ``end``."""
    if not db.is_file():
        return Parity(0, 0)
    try:
        connection = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            connection.execute("PRAGMA busy_timeout = 5000")
            counts = dict(connection.execute(_PARITY, (route, start, end)).fetchall())
        finally:
            connection.close()
    except sqlite3.Error:
        return Parity(0, 0)
    return Parity(int(counts.get("match", 0)), int(counts.get("diff", 0)))
