"""The rollout ledger: every decision a rollout makes, one JSON line each, never rewritten.

An operator (or the migration console) must be able to ask, after the fact, why a route moved or
went back: each line holds the step, the window judged, both sides' numbers, every gate's verdict
with its test, and the outcome in one sentence. The file is append-only, one per route, under the
gateway's state directory; the controller also resumes from it, so a line is written whole (one
``write`` of the full line, then ``fsync``) and a torn last line (a crash mid-write) is skipped.
"""

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

__all__ = ["EVENTS", "Event", "append_entry", "now_iso", "read_ledger"]

Event = Literal[
    "started",
    "judged",
    "aborted",
    "resumed",
    "completed",
    "rolled_back",
    "stalled",
    "manual_rollback",
]
EVENTS: tuple[Event, ...] = (
    "started",
    "judged",
    "aborted",
    "resumed",
    "completed",
    "rolled_back",
    "stalled",
    "manual_rollback",
)


def now_iso() -> str:
    """Return the current time as ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def append_entry(path: Path, entry: dict[str, Any]) -> None:
    """Append one decision to the ledger at ``path`` and flush it to disk."""
    if entry.get("event") not in EVENTS:
        raise ValueError(f"unknown ledger event {entry.get('event')!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, separators=(",", ":"), allow_nan=False) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """Return the ledger's decisions in order (none when there is no ledger yet)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash: the decision it held was never acted on
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
