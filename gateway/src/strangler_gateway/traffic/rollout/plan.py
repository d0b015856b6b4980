"""A rollout's plan as data: its steps, how often and on how much evidence each is judged.

The plan lives beside the route in ``routes.toml`` (an optional ``[routes.rollout]`` table), so
the way a route is rolled out is reviewed like the route itself; flags of ``strangler rollout
start`` override it for one run. The default walks shadow (parity) -> canary 1, 5, 25, 50 % ->
migrated. Retiring legacy is never a step of a rollout.
"""

import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from strangler_gateway.errors import RouteTableError

__all__ = [
    "DEFAULT_STEPS",
    "Gates",
    "OnFailure",
    "Plan",
    "PlanStep",
    "StepKind",
    "load_plan",
    "plan_from_json",
]

StepKind = Literal["shadow", "canary", "migrated"]
OnFailure = Literal["rollback", "hold"]
DEFAULT_STEPS = (1, 5, 25, 50)
_NUMBERS = ("interval_seconds", "min_requests", "min_users", "min_comparisons",
            "deadline_intervals")  # fmt: skip


@dataclass(frozen=True)
class PlanStep:
    """One step: a mode and its percent (users on new, or reads mirrored for shadow)."""

    kind: StepKind
    weight: int

    def __str__(self) -> str:
        return "migrated" if self.kind == "migrated" else f"{self.kind} {self.weight}%"


@dataclass(frozen=True)
class Gates:
    """The limits each gate holds the new side to, and the confidence its tests use."""

    success_floor: float = 0.99
    error_margin: float = 0.01
    latency_ceiling_ms: float = 500.0
    latency_factor: float = 1.2
    parity: float = 0.99
    confidence: float = 0.95

    @property
    def alpha(self) -> float:
        """Return the significance level of every test (1 - confidence)."""
        return 1.0 - self.confidence


@dataclass(frozen=True)
class Plan:
    """The steps of a rollout and how each is judged."""

    steps: tuple[PlanStep, ...]
    interval_seconds: float = 30.0
    min_requests: int = 200
    min_users: int = 20
    min_comparisons: int = 50
    deadline_intervals: int = 10
    on_failure: OnFailure = "rollback"
    gates: Gates = field(default_factory=Gates)

    def to_json(self) -> dict[str, Any]:
        """Return the plan as JSON (kept in the controller's state)."""
        return asdict(self)


def build_steps(
    canary: tuple[int, ...], *, shadow: bool, shadow_percent: int
) -> tuple[PlanStep, ...]:
    """Return shadow (if asked), the canary percents in order, then migrated."""
    if not canary or any(not 0 < percent < 100 for percent in canary):
        raise RouteTableError(f"canary steps must be percents between 1 and 99, got {list(canary)}")
    if list(canary) != sorted(set(canary)):
        raise RouteTableError(f"canary steps must rise, got {list(canary)}")
    first = (PlanStep("shadow", shadow_percent),) if shadow else ()
    return (*first, *(PlanStep("canary", p) for p in canary), PlanStep("migrated", 100))


def load_plan(table_path: Path, route: str, overrides: dict[str, Any]) -> Plan:
    """Return ``route``'s plan from its ``[routes.rollout]`` table, with ``overrides`` on top."""
    data = {
        **_route_rollout(table_path, route),
        **{k: v for k, v in overrides.items() if v is not None},
    }
    known = {"steps", "shadow", "shadow_percent", "on_failure", *_NUMBERS,
             *Gates.__dataclass_fields__}  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise RouteTableError(f"route '{route}': unknown rollout setting(s): {', '.join(unknown)}")
    steps = build_steps(
        tuple(int(p) for p in data.get("steps", DEFAULT_STEPS)),
        shadow=bool(data.get("shadow", True)),
        shadow_percent=int(data.get("shadow_percent", 10)),
    )
    if data.get("on_failure", "rollback") not in ("rollback", "hold"):
        raise RouteTableError(
            f"on_failure must be 'rollback' or 'hold', got {data['on_failure']!r}"
        )
    gates = Gates(**{k: float(data[k]) for k in Gates.__dataclass_fields__ if k in data})
    plan = Plan(steps=steps, gates=gates)
    numbers = {key: data[key] for key in _NUMBERS if key in data}
    plan = replace(plan, on_failure=data.get("on_failure", "rollback"), **numbers)
    _check(plan, route)
    return plan


def plan_from_json(data: dict[str, Any]) -> Plan:
    """Return the plan saved by ``Plan.to_json``."""
    steps = tuple(PlanStep(step["kind"], int(step["weight"])) for step in data["steps"])
    gates = Gates(**data["gates"])
    rest = {k: v for k, v in data.items() if k not in ("steps", "gates")}
    return Plan(steps=steps, gates=gates, **rest)


def _route_rollout(table_path: Path, route: str) -> dict[str, Any]:
    with table_path.open("rb") as handle:
        table = tomllib.load(handle)
    for entry in table.get("routes", []):
        if entry.get("name") == route:
            rollout = entry.get("rollout", {})
            if not isinstance(rollout, dict):
                raise RouteTableError(f"route '{route}': 'rollout' must be a table")
            return dict(rollout)
    raise RouteTableError(f"no route named '{route}'")


def _check(plan: Plan, route: str) -> None:
    if not plan.interval_seconds > 0:
        raise RouteTableError(f"route '{route}': interval_seconds must be above 0")
    for name in ("min_requests", "min_users", "min_comparisons", "deadline_intervals"):
        if int(getattr(plan, name)) < 1:
            raise RouteTableError(f"route '{route}': {name} must be at least 1")
    if not 0 < plan.gates.confidence < 1:
        raise RouteTableError(f"route '{route}': confidence must be between 0 and 1")
