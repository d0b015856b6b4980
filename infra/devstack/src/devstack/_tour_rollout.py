"""The tour's rollout: a controller judging the route on live load, as ``strangler rollout`` does.

The controller runs in a thread of the tour while the tour itself is the load (many sticky users
searching through the gateway), so each judgement sees both sides under the same traffic. The
rollout is the command's own code (plan from the route table with the tour's overrides, the same
controller, the same ledger); faults go through the code of ``strangler fault rag``.
"""

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from strangler_gateway.tools.faults import FaultService, write_faults
from strangler_gateway.traffic.rollout import (
    Controller,
    RolloutFiles,
    RolloutResult,
    RolloutState,
    Settings,
    abort_rollout,
    load_plan,
    read_ledger,
)

from devstack import _gateway
from devstack._stack import Stack

__all__ = ["RolloutRun", "RolloutStalled", "rag_faults", "run_rollout"]


class RolloutStalled(RuntimeError):
    """The rollout did not end in its time; it was aborted and the route sent back to legacy."""


@dataclass(frozen=True)
class RolloutRun:
    """How a rollout ended, its ledger lines and the requests the tour sent meanwhile."""

    result: RolloutResult
    entries: list[dict[str, Any]]
    requests: int


def rag_faults(stack: Stack, flags: dict[str, Any]) -> dict[str, Any]:
    """Set rag's faults as ``strangler fault rag`` does; return them as rag took them."""
    config = stack.config
    return write_faults(FaultService.locate("rag", config.routes, config.nginx_prefix), flags)


def run_rollout(
    stack: Stack,
    route: str,
    client: httpx.Client,
    overrides: dict[str, Any],
    *,
    users: int,
    seconds: float,
    say: Callable[[str], None],
) -> RolloutRun:
    """Run a rollout of ``route`` to its end while searching as ``users`` sticky users."""
    config = stack.config
    settings = Settings(config.routes, config.nginx_prefix, _gateway.access_log(config),
                        config.data_dir / "shadow.sqlite3", say=say)  # fmt: skip
    plan = load_plan(config.routes, route, overrides)
    controller = Controller(settings, route)
    ended: list[RolloutResult | Exception] = []

    def control() -> None:
        try:
            ended.append(controller.start(plan))
        except Exception as error:  # reported by the tour, not lost in the thread
            ended.append(error)

    thread = threading.Thread(target=control, name=f"rollout-{route}", daemon=True)
    thread.start()
    sent = _load(client, thread, users, time.monotonic() + seconds)
    if thread.is_alive():
        abort_rollout(config.routes, config.nginx_prefix, route)
        thread.join(30)
        raise RolloutStalled(f"the rollout of {route} did not end within {seconds:g} s: aborted")
    (result,) = ended
    if isinstance(result, Exception):
        raise RolloutStalled(f"the rollout of {route} did not run: {result}") from result
    return RolloutRun(result, _entries(stack, route), sent)


def _load(client: httpx.Client, thread: threading.Thread, users: int, deadline: float) -> int:
    sent = 0
    while thread.is_alive() and time.monotonic() < deadline:
        # A mode change that reloads nginx may close this keep-alive connection under a
        # request: the gateway's log is the evidence the rollout judges, not this client's view.
        with contextlib.suppress(httpx.TransportError):
            client.get("/api/search", params={"q": "invoice", "k": 2},
                       headers={"X-User-Id": f"tour-{sent % users}"})  # fmt: skip
        sent += 1
    return sent


def _entries(stack: Stack, route: str) -> list[dict[str, Any]]:
    files = RolloutFiles.of(stack.config.nginx_prefix, route)
    state = RolloutState.read(files)
    rollout_id = state.rollout_id if state else ""
    return [entry for entry in read_ledger(files.ledger) if entry["rollout_id"] == rollout_id]
