"""A rollout's state on disk: which rollout runs, its plan, where the route was before it.

The controller may be killed at any moment, so nothing it needs to continue lives only in its
memory: the state file (written whole by a rename) says which rollout is current and with which
plan, and the ledger says which steps already passed. One controller per route: an exclusive
``flock`` on the route's lock file, released by the kernel even when the holder is SIGKILLed.
"""

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx.layout import Layout, write_atomically
from strangler_gateway.traffic.rollout.plan import Plan, plan_from_json

__all__ = ["RolloutFiles", "RolloutState", "Status", "controller_lock", "new_rollout_id"]

Status = Literal["running", "completed", "failed", "stalled", "aborted", "stopped"]


@dataclass(frozen=True)
class RolloutFiles:
    """The files of one route's rollouts under the gateway's prefix."""

    folder: Path
    route: str

    @classmethod
    def of(cls, prefix: Path, route: str) -> "RolloutFiles":
        """Return the rollout files of ``route`` under the gateway prefix ``prefix``."""
        return cls(Layout.at(prefix).rollouts, route)

    @property
    def ledger(self) -> Path:
        return self.folder / f"{self.route}.jsonl"

    @property
    def state(self) -> Path:
        return self.folder / f"{self.route}.state.json"

    @property
    def lock(self) -> Path:
        return self.folder / f"{self.route}.lock"


@dataclass(frozen=True)
class RolloutState:
    """The current rollout of a route: its id, plan, status and the route's mode before it."""

    rollout_id: str
    route: str
    plan: Plan
    before: tuple[str, int | None]
    status: Status

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON."""
        return {"rollout_id": self.rollout_id, "route": self.route, "plan": self.plan.to_json(),
                "before": list(self.before), "status": self.status}  # fmt: skip

    def write(self, files: RolloutFiles) -> None:
        """Save the state (atomically: a crash leaves the old or the new file, whole)."""
        files.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(files.state, json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def read(cls, files: RolloutFiles) -> "RolloutState | None":
        """Return the saved state of the route's last rollout, if there was one."""
        try:
            data = json.loads(files.state.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise GatewayError(f"{files.state}: unreadable rollout state ({exc})") from exc
        mode, percent = data["before"]
        return cls(data["rollout_id"], data["route"], plan_from_json(data["plan"]),
                   (str(mode), percent), data["status"])  # fmt: skip


def new_rollout_id() -> str:
    """Return a new rollout id: sortable by time, unique."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@contextmanager
def controller_lock(files: RolloutFiles) -> Iterator[None]:
    """Hold the route's controller lock; raise GatewayError when another controller holds it."""
    files.folder.mkdir(parents=True, exist_ok=True)
    with files.lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GatewayError(
                f"a rollout of '{files.route}' is already running (pid {holder})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
