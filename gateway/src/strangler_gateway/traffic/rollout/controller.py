"""The rollout controller: apply a step, gather evidence for an interval, judge, move on or back.

Written like Flagger's canary loop, as a small reconciler whose every decision is a ledger line:

- a step is applied through ``traffic.control`` under the gateway's change lock, after checking
  that the route is still where the rollout left it: a manual change always wins and stops the
  rollout (recorded as ``manual_rollback``);
- each interval reads only the access-log lines written since the last read (``logtail``), adds
  them to the step's evidence and judges the step (``judge``): passed moves on, failed rolls back
  (or holds), inconclusive waits another interval, up to the plan's deadline, then stalls: the
  route goes back to where the last passed step left it and the rollout stops, saying what was
  missing;
- the state on disk (``state``) and the ledger let ``resume`` continue after a crash from the step
  after the last one that passed, never judging a passed step again.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx.process import exclusive
from strangler_gateway.routetable import Route, load_route_table
from strangler_gateway.traffic.control import set_route_mode
from strangler_gateway.traffic.rollout.evidence import StepEvidence
from strangler_gateway.traffic.rollout.judge import Judgement, judge_step, read_parity
from strangler_gateway.traffic.rollout.ledger import Event, append_entry, now_iso, read_ledger
from strangler_gateway.traffic.rollout.logtail import cursor_at_end, read_since
from strangler_gateway.traffic.rollout.plan import Plan, PlanStep
from strangler_gateway.traffic.rollout.state import (
    RolloutFiles,
    RolloutState,
    Status,
    controller_lock,
    new_rollout_id,
)

__all__ = ["Controller", "RolloutResult", "Settings", "step_state"]

Result = Literal["completed", "failed", "stalled", "stopped"]
# How often the controller looks for a manual change while it waits for the next judgement.
_WATCH_SECONDS = 0.2


@dataclass(frozen=True)
class Settings:
    """Where the controller reads and writes: the table, the gateway, its log, the comparator."""

    table: Path
    prefix: Path
    access_log: Path
    shadow_db: Path
    say: Callable[[str], None] = print


@dataclass(frozen=True)
class RolloutResult:
    """How a rollout ended and why, in one sentence."""

    result: Result
    reason: str


class _Stopped(Exception):
    """The route was moved by someone else: the rollout stops and says so."""

    def __init__(self, result: RolloutResult) -> None:
        super().__init__(result.reason)
        self.result = result


def step_state(step: PlanStep) -> tuple[str, int | None]:
    """Return the (mode, percent) a step puts the route in."""
    return ("migrated", None) if step.kind == "migrated" else (step.kind, step.weight)


def _route_state(route: Route) -> tuple[str, int | None]:
    return str(route.mode), route.percent if route.mode.takes_percent else None


@dataclass
class Controller:
    """One rollout of one route, started or resumed, run to its end in this process."""

    settings: Settings
    route: str
    files: RolloutFiles = field(init=False)
    state: RolloutState | None = None
    config_id: str | None = None

    def __post_init__(self) -> None:
        self.files = RolloutFiles.of(self.settings.prefix, self.route)

    def start(self, plan: Plan) -> RolloutResult:
        """Start a new rollout of the route with ``plan`` and run it to its end."""
        with controller_lock(self.files):
            previous = RolloutState.read(self.files)
            if previous is not None and previous.status == "running":
                raise GatewayError(
                    f"the rollout {previous.rollout_id} of '{self.route}' was interrupted: "
                    f"`strangler rollout resume {self.route}` or `abort` it first"
                )
            before = _route_state(self._current())
            self.state = RolloutState(new_rollout_id(), self.route, plan, before, "running")
            self.state.write(self.files)
            self._log("started", 0, reason=f"rollout of {self.route} from {_text(before)}: "
                      + " -> ".join(str(step) for step in plan.steps))  # fmt: skip
            return self._run_from(0, expected=before)

    def resume(self) -> RolloutResult:
        """Continue the route's stopped or interrupted rollout after its last passed step."""
        with controller_lock(self.files):
            state = RolloutState.read(self.files)
            if state is None or state.status in ("completed", "aborted"):
                raise GatewayError(f"no rollout of '{self.route}' to resume")
            self.state = _with_status(state, "running")
            self.state.write(self.files)
            index = self._next_index()
            self._log(
                "resumed", index, reason=f"resumed at step {index + 1} of {len(state.plan.steps)}"
            )
            return self._run_from(index, expected=None)

    def _run_from(self, index: int, expected: tuple[str, int | None] | None) -> RolloutResult:
        plan = self._plan()
        try:
            for position in range(index, len(plan.steps)):
                step = plan.steps[position]
                self._apply(position, step, expected)
                if step.kind == "migrated":
                    return self._finish("completed", "completed", position,
                                        f"{self.route} is migrated: every step passed")  # fmt: skip
                outcome = self._judge_until_decided(position, step)
                if outcome is not None:
                    return outcome
                expected = step_state(step)
        except _Stopped as stopped:
            return stopped.result
        raise AssertionError("a plan always ends with migrated")

    def _judge_until_decided(self, index: int, step: PlanStep) -> RolloutResult | None:
        plan = self._plan()
        cursor = cursor_at_end(self.settings.access_log)
        started, started_iso = time.time(), now_iso()
        evidence = StepEvidence(self.route, step.kind, step.weight if step.kind == "canary" else 0)
        judgement: Judgement | None = None
        for _ in range(plan.deadline_intervals):
            self._wait(plan.interval_seconds, step)
            entries, cursor = read_since(self.settings.access_log, cursor)
            evidence.add(entries)
            parity = None
            if step.kind == "shadow":
                parity = read_parity(self.settings.shadow_db, self.route, started, time.time())
            judgement = judge_step(step, evidence, parity, plan)
            window = {"start": started_iso, "end": now_iso()}
            self._log("judged", index, window=window, evidence=evidence, judgement=judgement)
            self.settings.say(f"{step}: {judgement.outcome}: {judgement.reason}")
            if judgement.outcome == "passed":
                return None
            if judgement.outcome == "failed":
                return self._fail(index, step, judgement, evidence, window)
        missing = judgement.reason if judgement is not None else "no judgement"
        return self._stall(
            index, step, f"stalled at {step} after {plan.deadline_intervals} intervals: {missing}"
        )

    def _fail(self, index: int, step: PlanStep, judgement: Judgement, evidence: StepEvidence,
              window: dict[str, str]) -> RolloutResult:  # fmt: skip
        if self._plan().on_failure == "hold":
            return self._finish("failed", None, index, f"held at {step}: {judgement.reason}")
        self._move_to(("legacy", None), expected=step_state(step))
        reason = f"rolled back to legacy at {step}: {judgement.reason}"
        self._log("rolled_back", index, window=window, evidence=evidence, judgement=judgement,
                  outcome="failed", reason=reason)  # fmt: skip
        self._set_status("failed")
        self.settings.say(reason)
        return RolloutResult("failed", reason)

    def _stall(self, index: int, step: PlanStep, reason: str) -> RolloutResult:
        plan = self._plan()
        back = step_state(plan.steps[index - 1]) if index > 0 else self._require_state().before
        self._move_to(back, expected=step_state(step))
        return self._finish(
            "stalled", "stalled", index, f"{reason}; the route is back at {_text(back)}"
        )

    def _finish(
        self, result: Result, event: Event | None, index: int, reason: str
    ) -> RolloutResult:
        if event is not None:
            self._log(
                event, index, outcome="stalled" if event == "stalled" else None, reason=reason
            )
        self._set_status(result)
        self.settings.say(reason)
        return RolloutResult(result, reason)

    def _apply(self, index: int, step: PlanStep, expected: tuple[str, int | None] | None) -> None:
        self._move_to(step_state(step), expected=expected)
        self.settings.say(
            f"step {index + 1}/{len(self._plan().steps)}: {step} (config {self.config_id})"
        )

    def _move_to(
        self, target: tuple[str, int | None], *, expected: tuple[str, int | None] | None
    ) -> None:
        # Checked and changed under the change lock: a rollback typed meanwhile is never undone.
        with exclusive(self.settings.prefix):
            current = _route_state(self._current())
            if expected is not None and current != expected and current != target:
                raise _Stopped(self._manual_change(current))
            if current == target and self.config_id is not None:
                return
            mode, percent = target
            change = set_route_mode(
                self.settings.table,
                self.settings.prefix,
                self.route,
                mode,
                percent,
                actor="rollout",
            )
            self.config_id = change.config_id

    def _wait(self, seconds: float, step: PlanStep) -> None:
        deadline = time.monotonic() + seconds
        while True:
            current = _route_state(self._current())
            if current != step_state(step):
                raise _Stopped(self._manual_change(current))
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(_WATCH_SECONDS, left))

    def _manual_change(self, current: tuple[str, int | None]) -> RolloutResult:
        state = self._require_state()
        mine = [
            e for e in read_ledger(self.files.ledger) if e.get("rollout_id") == state.rollout_id
        ]
        if any(entry.get("event") == "aborted" for entry in mine):
            self._set_status("aborted")
            return RolloutResult(
                "stopped", f"the rollout was aborted; {self.route} is at {_text(current)}"
            )
        reason = (
            f"{self.route} was moved by hand to {_text(current)}: "
            "the manual change wins, the rollout stops"
        )
        self._log("manual_rollback", self._next_index(), reason=reason)
        self._set_status("stopped")
        self.settings.say(reason)
        return RolloutResult("stopped", reason)

    def _next_index(self) -> int:
        state = self._require_state()
        passed = [
            int(entry["step"]["index"])
            for entry in read_ledger(self.files.ledger)
            if entry.get("rollout_id") == state.rollout_id and entry.get("outcome") == "passed"
        ]
        return max(passed) + 1 if passed else 0

    def _log(self, event: Event, index: int, *, window: dict[str, str] | None = None,
             evidence: StepEvidence | None = None, judgement: Judgement | None = None,
             outcome: str | None = None, reason: str | None = None) -> None:  # fmt: skip
        state = self._require_state()
        step = state.plan.steps[min(index, len(state.plan.steps) - 1)]
        entry: dict[str, Any] = {
            "time": now_iso(), "route": self.route, "rollout_id": state.rollout_id, "event": event,
            "step": {"index": index, "kind": step.kind, "weight": step.weight},
            "window": window, "sides": None, "comparisons": None, "parity": None, "gates": [],
            "outcome": outcome, "reason": reason or "", "config_id": self.config_id,
            "trace_ids": [],
        }  # fmt: skip
        if evidence is not None:
            entry["sides"] = {"legacy": evidence.legacy.summary(), "new": evidence.new.summary()}
            entry["trace_ids"] = evidence.trace_ids(state.plan.gates.latency_ceiling_ms / 2)
        if judgement is not None:
            entry["gates"] = [gate.to_json() for gate in judgement.gates]
            entry["outcome"] = outcome or judgement.outcome
            entry["reason"] = reason or judgement.reason
            if judgement.parity is not None:
                entry["comparisons"] = judgement.parity.compared
                entry["parity"] = judgement.parity.rate
        append_entry(self.files.ledger, entry)

    def _current(self) -> Route:
        return load_route_table(self.settings.table).route(self.route)

    def _plan(self) -> Plan:
        return self._require_state().plan

    def _require_state(self) -> RolloutState:
        if self.state is None:
            raise GatewayError("no rollout in progress")
        return self.state

    def _set_status(self, status: Status) -> None:
        self.state = _with_status(self._require_state(), status)
        self.state.write(self.files)


def _with_status(state: RolloutState, status: Status) -> RolloutState:
    return RolloutState(state.rollout_id, state.route, state.plan, state.before, status)


def _text(state: tuple[str, int | None]) -> str:
    mode, percent = state
    return mode if percent is None else f"{mode} {percent}%"
