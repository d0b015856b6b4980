"""Start and abort a route's rollout from the console, exactly as ``strangler rollout`` would.

A rollout runs for minutes, longer than any request should: the console starts the command
``strangler rollout start ROUTE`` as a detached process (its own session, so it outlives the
console's worker; its output kept beside the route's ledger) and answers once that controller has
written its ``started`` line, or has refused and exited. Abort is the function the command calls.
"""

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.console.actions import ActionError, Plan, current_step
from strangler_gateway.routetable import Mode, load_route_table
from strangler_gateway.traffic.control import ModeChange, Step
from strangler_gateway.traffic.rollout import RolloutFiles, RolloutState, abort_rollout, load_plan

__all__ = ["ROLLOUT_ACTIONS", "Started", "abort", "plan_rollout", "start"]

ROLLOUT_ACTIONS = ("start-rollout", "abort-rollout")
# How long the console waits for the controller to start or refuse before answering anyway.
START_SECONDS = 20.0


@dataclass(frozen=True)
class Started:
    """A rollout controller started in the background."""

    route: str
    rollout_id: str
    pid: int
    output: Path


def plan_rollout(routes: Path, prefix: Path, route_name: str, action: str) -> Plan:
    """Return what starting or aborting the route's rollout will do; raise when it cannot."""
    before = current_step(load_route_table(routes).route(route_name))
    state = RolloutState.read(RolloutFiles.of(prefix, route_name))
    running = state is not None and state.status == "running"
    if action == "abort-rollout":
        if state is None or state.status in ("completed", "aborted"):
            raise ActionError(f"no rollout of '{route_name}' to abort")
        how = (
            f"the abort is written to the ledger of rollout {state.rollout_id}, the route goes "
            "back to legacy (render, nginx -t, swap, reload), and its controller stops"
        )
        return Plan(action, route_name, before, Step(Mode.LEGACY), how)
    if state is not None and running:
        raise ActionError(
            f"the rollout {state.rollout_id} of '{route_name}' is running or was interrupted: "
            "abort it first"
        )
    chosen = load_plan(routes, route_name, {})
    steps = " -> ".join(str(step) for step in chosen.steps)
    how = (f"a rollout controller starts in the background (strangler rollout start "
           f"{route_name}) and walks the route through {steps}, judging each step every "
           f"{chosen.interval_seconds:g} s on at least {chosen.min_requests} requests per side; "
           f"a failed step sends the route back to legacy ({chosen.on_failure})")  # fmt: skip
    return Plan(action, route_name, before, Step(Mode.MIGRATED), how)


def abort(routes: Path, prefix: Path, route_name: str) -> ModeChange:
    """Abort the route's rollout as ``strangler rollout abort`` does; return the change."""
    plan_rollout(routes, prefix, route_name, "abort-rollout")
    return abort_rollout(routes, prefix, route_name)


def start(routes: Path, prefix: Path, shadow_db: Path, route_name: str) -> Started:
    """Start ``strangler rollout start ROUTE`` detached; return once it has started."""
    plan_rollout(routes, prefix, route_name, "start-rollout")
    files = RolloutFiles.of(prefix, route_name)
    files.folder.mkdir(parents=True, exist_ok=True)
    previous = RolloutState.read(files)
    output = files.folder / f"{route_name}.out"
    seen = output.stat().st_size if output.exists() else 0
    command = [sys.executable, "-m", "strangler_gateway.cli", "--routes", str(routes),
               "--prefix", str(prefix), "rollout", "start", route_name,
               "--db", str(shadow_db)]  # fmt: skip
    with output.open("ab") as sink:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=os.environ.copy(),
        )
    # Reaped when it ends, so a finished controller does not linger as a zombie of the console.
    threading.Thread(target=process.wait, daemon=True).start()
    return _started(files, previous, process, output, seen)


def _started(
    files: RolloutFiles,
    previous: RolloutState | None,
    process: subprocess.Popen[bytes],
    out: Path,
    seen: int,
) -> Started:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        state = RolloutState.read(files)
        if state is not None and (previous is None or state.rollout_id != previous.rollout_id):
            return Started(files.route, state.rollout_id, process.pid, out)
        if process.poll() is not None:
            said = out.read_bytes()[seen:].decode(errors="replace").strip()
            last = said.splitlines()[-1] if said else f"exit status {process.returncode}"
            raise ActionError(f"the rollout did not start: {last}")
        time.sleep(0.1)
    raise ActionError(f"the rollout controller (pid {process.pid}) has not started yet: see {out}")
