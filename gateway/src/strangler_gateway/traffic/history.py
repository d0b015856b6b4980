"""The route change history: who moved which route, when, from what to what, with which config.

Written where a mode changes (``traffic.control``), whoever asked (the CLI, the console, the
rollout controller), so the console can show a route's whole story. One JSON line per change,
appended after the new config is live: a change the gateway refused was no change.
"""

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strangler_gateway.routetable import Route

__all__ = ["HISTORY_FILE", "history_path", "record_change"]

HISTORY_FILE = "history.jsonl"


def history_path(prefix: Path) -> Path:
    """Return the history file under the gateway's state directory (its nginx prefix)."""
    return prefix / HISTORY_FILE


def _side(route: Route) -> dict[str, Any]:
    return {"mode": str(route.mode), "percent": route.percent if route.mode.takes_percent else None}


def record_change(prefix: Path, before: Route, after: Route, actor: str, config_id: str) -> None:
    """Append one change to the history (a single write: concurrent appends do not interleave)."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "route": after.name,
        "actor": actor,
        "from": _side(before),
        "to": _side(after),
        "config_id": config_id,
    }
    data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
    path = history_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)
