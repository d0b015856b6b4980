"""The gateway's recent traffic, kept in memory by one reader that follows the access log.

Every open console page wants the same figures every second or two; re-reading a log that grows
by thousands of lines a minute for each of them would cost more than the traffic it describes.
One ``LiveTraffic`` per console process follows the log from where it last stopped, keeps only
the lines of the recent window, and every page (and every server-sent event) reads from it.
"""

import json
import os
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["LiveTraffic", "entry_time"]

# A line longer than this is not one of the gateway's (its JSON lines are a few hundred bytes).
_MAX_LINE = 64 * 1024


def entry_time(entry: dict[str, Any]) -> datetime:
    """Return when an access-log line was written (the distant past when it does not say)."""
    try:
        moment = datetime.fromisoformat(str(entry.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class _Position:
    inode: int = -1
    offset: int = 0


class LiveTraffic:
    """The access log's lines of the last ``keep_seconds``, refreshed by ``refresh``."""

    def __init__(self, log: Path, *, keep_seconds: float) -> None:
        self.log = log
        self.keep = timedelta(seconds=keep_seconds)
        self._entries: deque[dict[str, Any]] = deque()
        self._position = _Position()
        self._partial = b""

    def refresh(self, now: datetime | None = None) -> None:
        """Read the lines written since the last call and forget those past the window."""
        for entry in self._new_entries():
            self._entries.append(entry)
        since = (now or datetime.now(UTC)) - self.keep
        while self._entries and entry_time(self._entries[0]) < since:
            self._entries.popleft()

    def entries(self) -> list[dict[str, Any]]:
        """Return the kept lines, oldest first."""
        return list(self._entries)

    def _new_entries(self) -> list[dict[str, Any]]:
        try:
            stat = os.stat(self.log)
        except OSError:
            return []
        if stat.st_ino != self._position.inode or stat.st_size < self._position.offset:
            # A new or rotated log: start it from the beginning.
            self._position, self._partial = _Position(stat.st_ino, 0), b""
        with self.log.open("rb") as handle:
            handle.seek(self._position.offset)
            chunk = handle.read(stat.st_size - self._position.offset)
        self._position.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop() if len(lines[-1]) < _MAX_LINE else b""
        return [entry for entry in map(_parse, lines) if entry is not None]


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None  # a line cut by a crash is not the reader's problem
    return entry if isinstance(entry, dict) else None
