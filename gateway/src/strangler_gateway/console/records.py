"""The route's written records the console shows: its change history and its rollout ledger.

Both are JSON-lines files under the gateway's state directory (the nginx prefix): one line per
mode change (``history.jsonl``, written where a mode changes) and one file per route of rollout
decisions (``rollouts/<route>.jsonl``, written by the rollout controller). The console only reads
them; a line it cannot parse is skipped, never fatal, so a half-written last line during a crash
does not take the page down.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strangler_gateway.traffic.history import history_path

__all__ = [
    "Rollout",
    "ledger_path",
    "read_history",
    "read_jsonl",
    "read_rollouts",
]


def ledger_path(prefix: Path, route: str) -> Path:
    """Return where the rollout ledger of ``route`` lives under the gateway's state directory."""
    return prefix / "rollouts" / f"{route}.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Return the JSON objects of a JSON-lines file, oldest first ([] when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_history(prefix: Path, route: str) -> list[dict[str, Any]]:
    """Return ``route``'s mode changes, newest first."""
    changes = [r for r in read_jsonl(history_path(prefix)) if r.get("route") == route]
    return list(reversed(changes))


@dataclass
class Rollout:
    """One rollout of a route: its decisions in the order they were taken."""

    rollout_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        """Return the last decision's event ("completed", "rolled_back", "judged", ...)."""
        return str(self.events[-1].get("event", "")) if self.events else ""

    @property
    def active(self) -> bool:
        """Return whether the rollout is still running (no final event yet)."""
        final = {"completed", "rolled_back", "aborted", "manual_rollback"}
        return self.state not in final


def read_rollouts(prefix: Path, route: str) -> list[Rollout]:
    """Return ``route``'s rollouts from its ledger, newest first."""
    rollouts: dict[str, Rollout] = {}
    for record in read_jsonl(ledger_path(prefix, route)):
        rollout_id = str(record.get("rollout_id", ""))
        rollouts.setdefault(rollout_id, Rollout(rollout_id)).events.append(record)
    return list(reversed(rollouts.values()))
