"""Traffic-control operations: the one way a route's mode changes, whoever asks for it.

The CLI, the local runner and the cross-service tests all move traffic through these functions,
so every change takes the same path: edit routes.toml (keeping its comments), render, ``nginx -t``,
atomic swap, graceful reload, and the table put back if the gateway refuses the change.

``promote_route`` climbs the promotion ladder one step; ``rollback_route`` sends a route back to
the monolith at once, from any step. Retiring a route (removing legacy for good) is never a
promotion: it is a deliberate ``set_route_mode(..., "retired")``.
"""

from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx.layout import write_atomically
from strangler_gateway.nginx.process import ApplyResult, apply, exclusive
from strangler_gateway.routetable import Mode, Route, load_route_table
from strangler_gateway.routetable.edit import RouteChange, change_route_mode
from strangler_gateway.traffic.history import record_change

__all__ = [
    "LADDER",
    "ModeChange",
    "Step",
    "next_step",
    "promote_route",
    "rollback_route",
    "set_route_mode",
]


@dataclass(frozen=True)
class Step:
    """One rung of the promotion ladder: a mode and its percent."""

    mode: Mode
    percent: int | None = None

    def __str__(self) -> str:
        return f"{self.mode} {self.percent}%" if self.percent is not None else str(self.mode)


# legacy -> shadow (10 % of reads compared) -> canary 5 % -> 25 % -> 50 % of users -> migrated.
LADDER = (
    Step(Mode.LEGACY),
    Step(Mode.SHADOW, 10),
    Step(Mode.CANARY, 5),
    Step(Mode.CANARY, 25),
    Step(Mode.CANARY, 50),
    Step(Mode.MIGRATED),
)


@dataclass(frozen=True)
class ModeChange:
    """A route's mode change as applied: the route before and after, and the installed config."""

    change: RouteChange
    applied: ApplyResult

    @property
    def config_id(self) -> str:
        """Return the id of the config now live (the X-Gateway-Config response header)."""
        return self.applied.config_id


def next_step(route: Route) -> Step:
    """Return the ladder's next step for ``route``; raise GatewayError at the top."""
    if route.mode is Mode.RETIRED:
        raise GatewayError(f"route '{route.name}' is retired: there is no step above it")
    if route.mode is Mode.MIGRATED:
        raise GatewayError(
            f"route '{route.name}' is migrated, the top of the ladder; retire legacy with "
            f"`strangler mode {route.name} retired` once it can go"
        )
    if route.mode is Mode.CANARY:
        higher = [
            s for s in LADDER if s.mode is Mode.CANARY and (s.percent or 0) > route.new_percent
        ]
        return higher[0] if higher else LADDER[-1]
    return LADDER[[step.mode for step in LADDER].index(route.mode) + 1]


def set_route_mode(
    table_path: Path,
    prefix: Path,
    route: str,
    mode: str,
    percent: int | None = None,
    *,
    timeout: float = 10.0,
    actor: str = "cli",
) -> ModeChange:
    """Set ``route`` to ``mode`` (and ``percent``) in the table and apply it to the gateway.

    ``actor`` says who asked ("cli", "console:<user>", "rollout") in the route change history.
    """
    # Under the change lock from the read to the reload: a rollback racing a promotion must not
    # be lost, nor undone when the other change is refused and its table put back.
    with exclusive(prefix):
        original = table_path.read_text(encoding="utf-8")
        change = change_route_mode(table_path, route, mode, percent)
        write_atomically(table_path, change.text)
        try:
            applied = apply(table_path, prefix, timeout=timeout)
        except GatewayError:
            write_atomically(table_path, original)
            raise
        record_change(prefix, change.before, change.after, actor, applied.config_id)
    return ModeChange(change=change, applied=applied)


def promote_route(
    table_path: Path, prefix: Path, route: str, *, timeout: float = 10.0, actor: str = "cli"
) -> ModeChange:
    """Move ``route`` one step up the ladder and apply it."""
    # The step is computed from the table read under the change lock: computed before it, a
    # rollback that took the lock first would be undone by a step from the route it left.
    with exclusive(prefix):
        step = next_step(load_route_table(table_path).route(route))
        return set_route_mode(
            table_path, prefix, route, step.mode, step.percent, timeout=timeout, actor=actor
        )


def rollback_route(
    table_path: Path, prefix: Path, route: str, *, timeout: float = 10.0, actor: str = "cli"
) -> ModeChange:
    """Send every request of ``route`` back to legacy and apply it."""
    return set_route_mode(table_path, prefix, route, Mode.LEGACY, timeout=timeout, actor=actor)
