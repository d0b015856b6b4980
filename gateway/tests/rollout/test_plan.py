"""A rollout's plan is data in routes.toml, overridable by flags, and refused when it is wrong."""

from pathlib import Path

import pytest
from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable import load_route_table
from strangler_gateway.traffic.rollout.plan import PlanStep, load_plan

from ..conftest import table_text


def _table(tmp_path: Path, rollout: str = "") -> Path:
    path = tmp_path / "routes.toml"
    text = table_text()
    marker = 'name = "hooks"'
    section = (
        f"[routes.rollout]\n{rollout}\n\n[[routes]]\n{marker}"
        if rollout
        else f"[[routes]]\n{marker}"
    )
    path.write_text(text.replace(f"[[routes]]\n{marker}", section, 1))
    return path


def test_the_default_plan_is_shadow_then_1_5_25_50_then_migrated(tmp_path: Path) -> None:
    plan = load_plan(_table(tmp_path), "search", {})
    assert plan.steps == (PlanStep("shadow", 10), PlanStep("canary", 1), PlanStep("canary", 5),
                          PlanStep("canary", 25), PlanStep("canary", 50),
                          PlanStep("migrated", 100))  # fmt: skip
    assert (plan.interval_seconds, plan.deadline_intervals, plan.on_failure) == (30, 10, "rollback")


def test_the_route_table_s_plan_and_flags_on_top(tmp_path: Path) -> None:
    table = _table(tmp_path, "steps = [10, 50]\ninterval_seconds = 5\nlatency_factor = 1.5")
    assert load_route_table(table).route("search").name == "search", "the table still loads"
    plan = load_plan(
        table, "search", {"shadow": False, "min_requests": 40, "interval_seconds": None}
    )
    assert [str(step) for step in plan.steps] == ["canary 10%", "canary 50%", "migrated"]
    assert (plan.interval_seconds, plan.min_requests, plan.gates.latency_factor) == (5, 40, 1.5)


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ("steps = [50, 25]", "must rise"),
        ("steps = [0, 50]", "between 1 and 99"),
        ("on_failure = 'retry'", "on_failure"),
        ("speed = 3", "unknown rollout setting"),
        ("interval_seconds = 0", "interval_seconds"),
    ],
)
def test_a_wrong_plan_is_refused_with_its_reason(
    tmp_path: Path, rollout: str, message: str
) -> None:
    with pytest.raises(RouteTableError, match=message):
        load_plan(_table(tmp_path, rollout), "search", {})
