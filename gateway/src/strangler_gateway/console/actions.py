"""The console's actions on a route: the same operations as the ``strangler`` command.

Each action is first described (what will change, from what to what) for the confirmation, then
performed through the traffic-control functions the CLI calls: edit routes.toml, render,
``nginx -t``, atomic swap, graceful reload, and the table put back if the gateway refuses. A
refusal (a bad percent, the top of the ladder, nginx refusing the config) changes nothing and
says why.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.errors import GatewayError
from strangler_gateway.routetable import Mode, Route, load_route_table
from strangler_gateway.traffic.control import (
    ModeChange,
    Step,
    next_step,
    promote_route,
    rollback_route,
)
from strangler_gateway.traffic.control import set_route_mode as apply_mode

__all__ = ["ACTIONS", "ActionError", "Plan", "current_step", "perform", "plan"]

ACTIONS = ("shift", "promote", "rollback")
_HOW = "routes.toml edited, nginx config rendered and checked (nginx -t), swapped in, reloaded"


class ActionError(GatewayError):
    """An action that cannot be done as asked; nothing was changed."""


@dataclass(frozen=True)
class Plan:
    """What an action will do to a route."""

    action: str
    route: str
    before: Step
    after: Step
    how: str = _HOW

    @property
    def summary(self) -> str:
        """Return the change in one line ("search: canary 5% -> canary 25%")."""
        return f"{self.route}: {self.before} -> {self.after}"


def current_step(route: Route) -> Step:
    """Return the route's mode and percent as a rung of the ladder."""
    return Step(route.mode, route.percent if route.mode.takes_percent else None)


def _percent(raw: str | None) -> int:
    try:
        percent = int(raw or "")
    except ValueError:
        raise ActionError("a shift needs a percent: a whole number from 0 to 100") from None
    if not 0 <= percent <= 100:
        raise ActionError(f"percent must be from 0 to 100 (got {percent})")
    return percent


def plan(routes: Path, route_name: str, action: str, percent: str | None = None) -> Plan:
    """Return what ``action`` would do to the route now; raise ActionError when it cannot."""
    if action not in ACTIONS:
        raise ActionError(f"no action named '{action}' (actions: {', '.join(ACTIONS)})")
    route = load_route_table(routes).route(route_name)
    before = current_step(route)
    if action == "shift":
        after = Step(Mode.CANARY, _percent(percent))
    elif action == "promote":
        after = next_step(route)
    else:
        after = Step(Mode.LEGACY)
    if after == before:
        raise ActionError(f"route '{route_name}' is already {before}: nothing to change")
    return Plan(action, route_name, before, after)


def perform(
    routes: Path, prefix: Path, route_name: str, action: str, percent: str | None, actor: str
) -> ModeChange:
    """Do ``action`` on the route through the traffic-control functions; return the change."""
    chosen = plan(routes, route_name, action, percent)
    operations: dict[str, Callable[[], ModeChange]] = {
        "shift": lambda: apply_mode(
            routes, prefix, route_name, Mode.CANARY, chosen.after.percent, actor=actor
        ),
        "promote": lambda: promote_route(routes, prefix, route_name, actor=actor),
        "rollback": lambda: rollback_route(routes, prefix, route_name, actor=actor),
    }
    return operations[action]()
