"""One long-lived SQLite connection per thread, so the outbox's WAL stays open between operations.

A connection per operation looked cheap, but in WAL mode the last connection to close checkpoints
the whole log into the database, fsyncs it and deletes the ``-wal`` and ``-shm`` files, and the
next connection creates them again. With deliveries arriving one at a time that happened on
nearly every operation: a profile of the adapter acknowledging sequential deliveries put 14 % of
each request in opening the connection, and the adapter's time per request fell from 16 to 10 ms
(p50) once connections were kept. The log is left to SQLite's own automatic checkpoints.

A connection never crosses a thread (each thread gets its own) or a ``fork`` (a child opens new
ones and never touches those it inherited). One that failed, or whose file was removed or
replaced, is dropped, so the next operation reconnects: the outbox recovers when its file comes
back, and never acknowledges an event by writing it into a file no one will read.
"""

import contextlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

BUSY_TIMEOUT_SECONDS = 5.0
_LOCK_POLL_SECONDS = 0.001


class Connect(Protocol):
    """Open a connection to ``path``."""

    def __call__(self, path: Path, *, durable: bool) -> sqlite3.Connection: ...


@dataclass(frozen=True)
class _Kept:
    db: sqlite3.Connection
    file: tuple[int, int] | None  # (device, inode) when it was opened


class ThreadConnections:
    """Open and keep a connection per thread and durability; close them all on request."""

    def __init__(self, path: Path, connect: Connect) -> None:
        self._path = path
        self._connect = connect
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []
        self._pid = os.getpid()

    def get(self, *, durable: bool) -> sqlite3.Connection:
        """Return this thread's connection of that durability, opening it on first use."""
        self._forget_after_fork()
        kept: dict[bool, _Kept] = self._local.__dict__.setdefault("kept", {})
        file = _identity(self._path)
        entry = kept.get(durable)
        if entry is not None and entry.file != file:
            # The file was removed or replaced: a kept connection would go on writing into the
            # unlinked one, which no process will ever read again.
            self.discard(durable=durable)
            entry = None
        if entry is None:
            db = self._connect(self._path, durable=durable)
            entry = kept[durable] = _Kept(db, _identity(self._path))
            with self._lock:
                self._opened.append(entry.db)
        return entry.db

    def discard(self, *, durable: bool) -> None:
        """Close and forget this thread's connection of that durability, after an error."""
        kept: dict[bool, _Kept] = self._local.__dict__.get("kept", {})
        entry = kept.pop(durable, None)
        if entry is not None:
            self._close(entry.db)

    def close(self) -> None:
        """Close every connection this process opened (threads reopen on their next use)."""
        with self._lock:
            opened, self._opened = self._opened, []
        self._local = threading.local()
        for db in opened:
            self._close(db)

    def _close(self, db: sqlite3.Connection) -> None:
        with self._lock:
            if db in self._opened:
                self._opened.remove(db)
        # One that cannot even close is unusable: forgetting it is all that is left to do.
        with contextlib.suppress(sqlite3.Error):
            db.close()

    def _forget_after_fork(self) -> None:
        if os.getpid() == self._pid:
            return
        # The parent's connections stay open in the parent; the child only drops its copies. The
        # lock is replaced, not taken: another thread of the parent may have held it at the fork.
        self._lock = threading.Lock()
        self._pid, self._opened, self._local = os.getpid(), [], threading.local()


def connect(path: Path, *, durable: bool) -> sqlite3.Connection:
    """Open the file in autocommit mode; ``durable`` commits survive power loss (an fsync)."""
    # Autocommit mode: transactions are begun explicitly, so their extent is visible here. Not
    # tied to its thread, so the process can close every kept connection when it stops.
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    return db


def begin_immediate(db: sqlite3.Connection, wait_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
    """Begin a transaction holding the write lock, polling for it every millisecond.

    SQLite's own busy handler sleeps in growing steps, up to 100 ms each, so a writer that missed
    a lock freed a millisecond later still slept for tens of ms: the tail of every acknowledgement.
    """
    deadline = time.monotonic() + wait_seconds
    db.execute("PRAGMA busy_timeout = 0")
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(_LOCK_POLL_SECONDS)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino
