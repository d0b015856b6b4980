"""Traffic-control operations: the one way a route's mode changes, whoever asks for it.

The CLI, the local runner and the cross-service tests all move traffic through these functions,
so every change takes the same path: edit routes.toml (keeping its comments), render, ``nginx -t``,
atomic swap, graceful reload, and the table put back if the gateway refuses the change. Promote,
rollback and the progressive rollout build on them.
"""

from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.edit import RouteChange, change_route_mode, write_table
from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx import ApplyResult, apply

__all__ = ["ModeChange", "set_route_mode"]


@dataclass(frozen=True)
class ModeChange:
    """A route's mode change as applied: the route before and after, and the installed config."""

    change: RouteChange
    applied: ApplyResult

    @property
    def config_id(self) -> str:
        """Return the id of the config now live (the X-Gateway-Config response header)."""
        return self.applied.config_id


def set_route_mode(
    table_path: Path,
    prefix: Path,
    route: str,
    mode: str,
    percent: int | None = None,
    *,
    timeout: float = 10.0,
) -> ModeChange:
    """Set ``route`` to ``mode`` (and ``percent``) in the table and apply it to the gateway."""
    change = change_route_mode(table_path, route, mode, percent)
    original = table_path.read_text(encoding="utf-8")
    write_table(table_path, change.text)
    try:
        applied = apply(table_path, prefix, timeout=timeout)
    except GatewayError:
        write_table(table_path, original)
        raise
    return ModeChange(change=change, applied=applied)
