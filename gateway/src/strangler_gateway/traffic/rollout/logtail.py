"""Read only the access-log lines written since the last look, across log rotations.

A rollout judges every few seconds for as long as it runs: re-reading the whole log each time
would make each judgement slower than the last. A cursor (the file's inode and a byte offset,
always at the end of a complete line) says where the last read stopped. When the log was rotated
(renamed, then ``nginx -s reopen``), the old file is found again by its inode in the same folder
and read to its end before the new file is read from its start, so no line is counted twice or
lost.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LogCursor", "cursor_at_end", "read_since"]


@dataclass(frozen=True)
class LogCursor:
    """Where the last read of a log stopped: its file's inode and the byte after its last line."""

    inode: int
    offset: int

    def to_json(self) -> dict[str, int]:
        """Return the cursor as a JSON object (the controller keeps it on disk)."""
        return {"inode": self.inode, "offset": self.offset}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LogCursor":
        """Return the cursor saved by ``to_json``."""
        return cls(int(data["inode"]), int(data["offset"]))


def cursor_at_end(log: Path) -> LogCursor:
    """Return a cursor after the last complete line of ``log`` (at 0 if it does not exist)."""
    try:
        with log.open("rb") as handle:
            inode = os.fstat(handle.fileno()).st_ino
            data = handle.read()
    except FileNotFoundError:
        return LogCursor(0, 0)
    return LogCursor(inode, data.rfind(b"\n") + 1)


def read_since(log: Path, cursor: LogCursor) -> tuple[list[dict[str, Any]], LogCursor]:
    """Return the JSON lines written to ``log`` after ``cursor``, and the cursor after them."""
    try:
        current = log.stat().st_ino
    except FileNotFoundError:
        return [], cursor
    entries: list[dict[str, Any]] = []
    offset = cursor.offset
    if cursor.inode not in (0, current):
        rotated = _find_by_inode(log.parent, cursor.inode)
        if rotated is not None:
            entries += _read_lines(rotated, cursor.offset)[0]
        offset = 0
    new_entries, end = _read_lines(log, offset)
    return entries + new_entries, LogCursor(current, end)


def _find_by_inode(folder: Path, inode: int) -> Path | None:
    for candidate in folder.iterdir():
        try:
            if candidate.is_file() and candidate.stat().st_ino == inode:
                return candidate
        except OSError:
            continue
    return None


def _read_lines(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if offset > size:
            offset = 0  # the file was truncated in place: it starts again
        handle.seek(offset)
        data = handle.read()
    complete = data.rfind(b"\n") + 1  # a line still being written is read next time
    return list(_parse(data[:complete])), offset + complete


def _parse(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry
