"""Stop a route's rollout from outside its controller: the route goes back to legacy at once.

The controller may be running in another process (or may have crashed). Abort writes its decision
to the ledger first, then rolls the route back under the change lock; a running controller sees
the route move, finds the ``aborted`` line and stops without calling it a manual change.
"""

from pathlib import Path

from strangler_gateway.errors import GatewayError
from strangler_gateway.traffic.control import ModeChange, rollback_route
from strangler_gateway.traffic.rollout.ledger import append_entry, now_iso, read_ledger
from strangler_gateway.traffic.rollout.state import RolloutFiles, RolloutState

__all__ = ["abort_rollout"]


def abort_rollout(table: Path, prefix: Path, route: str) -> ModeChange:
    """Record the abort of ``route``'s rollout and send the route back to legacy."""
    files = RolloutFiles.of(prefix, route)
    state = RolloutState.read(files)
    if state is None or state.status in ("completed", "aborted"):
        raise GatewayError(f"no rollout of '{route}' to abort")
    reason = f"aborted by the operator; {route} goes back to legacy"
    mine = [e for e in read_ledger(files.ledger) if e.get("rollout_id") == state.rollout_id]
    step = next((e["step"] for e in reversed(mine) if e.get("step")), None)
    append_entry(files.ledger, {
        "time": now_iso(), "route": route, "rollout_id": state.rollout_id, "event": "aborted",
        "step": step, "window": None, "sides": None, "comparisons": None, "parity": None,
        "gates": [], "outcome": None, "reason": reason, "config_id": None, "trace_ids": [],
    })  # fmt: skip
    change = rollback_route(table, prefix, route, actor="rollout")
    RolloutState(state.rollout_id, route, state.plan, state.before, "aborted").write(files)
    return change
