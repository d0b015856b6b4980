"""Group commit: the intakes of one process that arrive together share one transaction and fsync.

The intake must commit (``synchronous=FULL``, an fsync) before it answers, and SQLite has one
writer at a time, so under load each intake would wait for every fsync ahead of it. Here the first
intake to find the writer free commits, in one transaction, every row that arrived meanwhile; the
others find their row committed and answer. One fsync then acknowledges a whole batch, and the
wait for the write lock is shared instead of queued (the classic database group commit).
"""

import sqlite3
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


@dataclass
class _Pending:
    row: Mapping[str, Any]
    done: bool = False
    stored: bool = False
    error: BaseException | None = None


class GroupCommit:
    """Run one insert per row, committing the rows of concurrent callers together."""

    def __init__(self, transaction: Transaction, statement: str) -> None:
        self._transaction = transaction
        self._statement = statement
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()
        self._queue: list[_Pending] = []

    def insert(self, row: Mapping[str, Any]) -> bool:
        """Insert ``row`` and commit; return whether the statement changed a row."""
        pending = _Pending(row)
        with self._queue_lock:
            self._queue.append(pending)
        with self._writer:
            if not pending.done:
                self._commit_queued()
        if pending.error is not None:
            raise pending.error
        return pending.stored

    def _commit_queued(self) -> None:
        with self._queue_lock:
            batch, self._queue = self._queue, []
        try:
            with self._transaction() as db:
                stored = [db.execute(self._statement, p.row).rowcount == 1 for p in batch]
        except BaseException as error:  # every caller of the batch gets the same failure
            for pending in batch:
                pending.error, pending.done = error, True
            return
        for pending, was_stored in zip(batch, stored, strict=True):
            pending.stored, pending.done = was_stored, True
