"""Follow the gateway's access log and store one gateway span per line, like `tail -F`.

The store runs for days while nginx appends, rotates (rename, then reopen) or truncates
(copytruncate) its log. The position read so far is saved with the spans in one transaction, so a
restarted store resumes where it stopped: nothing is read twice, and what nginx wrote while the
store was down is still picked up. Upserts by (trace id, span id) make a re-read harmless anyway.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from tracestore.gatewaylog import InvalidLogLineError, gateway_resource, span_from_line
from tracestore.models import Attributes, LogPosition, SpanRecord
from tracestore.store import TraceStore

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.2
READ_CHUNK_BYTES = 1 << 20


class GatewayLogFollower:
    """Read new lines of one log file into a store, from a thread or by calling poll()."""

    def __init__(
        self,
        path: str | Path,
        store: TraceStore,
        *,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        from_start: bool = False,
        forward: Callable[[Sequence[SpanRecord]], None] | None = None,
        resource: Attributes | None = None,
    ) -> None:
        """Follow path into store; a log never followed before is read from its end.

        Each stored batch is also handed to forward, if given. The spans' resource is the
        gateway's (see gatewaylog.gateway_resource) unless one is given.
        """
        self.path = Path(path).absolute()
        self._key = str(self.path)
        self._store = store
        self._forward = forward
        self._resource = gateway_resource(os.environ) if resource is None else resource
        self._poll_interval = poll_interval
        self._from_start = from_start
        self._file: BinaryIO | None = None
        self._inode = 0
        self._offset = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the log at its saved position (or its end), then follow it on a thread."""
        self.open()
        self._thread = threading.Thread(target=self._run, name="gateway-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following and close the file."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._close()

    def poll(self) -> int:
        """Store the lines appended since the last poll and return how many spans were stored."""
        if self._file is None and not self._open_next():
            return 0
        stored = self._drain()
        current = _inode_of(self.path)
        if current is not None and current != self._inode:
            # Rotated: the old file may have gained lines before nginx reopened; keep them, then
            # switch to the new file from its first byte.
            self._close()
            if self._open_next():
                stored += self._drain()
        return stored

    def _run(self) -> None:
        while not self._stopping.wait(self._poll_interval):
            try:
                self.poll()
            except (OSError, sqlite3.Error):
                logger.exception("could not read %s; retrying", self.path)
                self._close()
            except Exception:
                # A batch that breaks something downstream (the forwarder, say) is already stored:
                # log it and go on, or the gateway's spans would stop for good.
                logger.exception("could not follow %s; going on with the next lines", self.path)

    def open(self) -> None:
        """Position at the saved offset if the log is the same file, else at its end."""
        saved = self._store.log_position(self._key)
        if not self._open_next():
            return
        assert self._file is not None
        size = os.fstat(self._file.fileno()).st_size
        if saved is not None and saved.inode == self._inode and saved.offset <= size:
            self._offset = saved.offset
        elif saved is None and not self._from_start:
            self._offset = size
        self._store.insert([], self._position())

    def _open_next(self) -> bool:
        """Open the log at its first byte (a new log is read whole); False while there is none."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        self._file = handle
        self._inode = os.fstat(handle.fileno()).st_ino
        self._offset = 0
        return True

    def _drain(self) -> int:
        """Read every complete line from the open file, storing spans chunk by chunk."""
        assert self._file is not None
        if os.fstat(self._file.fileno()).st_size < self._offset:
            logger.info("%s was truncated; reading it from the start", self.path)
            self._offset = 0
        stored = 0
        while True:
            self._file.seek(self._offset)
            chunk = self._file.read(READ_CHUNK_BYTES)
            end = chunk.rfind(b"\n") + 1
            if end == 0 and len(chunk) == READ_CHUNK_BYTES:
                # One line longer than a chunk is not an access-log line; skip past it.
                end = len(chunk)
            if end == 0:
                return stored
            spans = _spans_of(chunk[:end], self._resource)
            self._offset += end
            stored += self._store.insert(spans, self._position())
            if self._forward is not None:
                self._forward(spans)

    def _position(self) -> LogPosition:
        return LogPosition(self._key, self._inode, self._offset)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _spans_of(block: bytes, resource: Attributes) -> list[SpanRecord]:
    """Parse complete lines into spans, logging and skipping the ones that are not spans."""
    spans = []
    for number, line in enumerate(block.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            span = span_from_line(line, resource)
        except InvalidLogLineError as exc:
            logger.warning("skipping access-log line %s of a batch: %s", number, exc)
            continue
        if span is not None:
            spans.append(span)
    return spans


def _inode_of(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None
