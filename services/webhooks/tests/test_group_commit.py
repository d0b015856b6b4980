"""Group commit: concurrent adds share transactions, each caller still gets its own answer."""

import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from webhooks.events import VerifiedEvent
from webhooks.outbox import Outbox, OutboxUnavailableError

ADDS = 200


def _event(event_id: str) -> VerifiedEvent:
    body = json.dumps({"id": event_id, "type": "invoice.paid"}).encode()
    return VerifiedEvent("stripe", event_id, "invoice.paid", body, datetime.now(UTC))


def test_concurrent_adds_commit_together_and_each_id_is_stored_once(
    outbox: Outbox, outbox_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions = []
    real = outbox._transaction

    def counted(*, durable: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        transactions.append(threading.get_ident())
        return real(durable=durable)

    monkeypatch.setattr(outbox, "_transaction", counted)
    ids = [f"evt_{n % (ADDS // 2)}" for n in range(ADDS)]  # every id twice

    with ThreadPoolExecutor(16) as pool:
        stored = list(pool.map(lambda event_id: outbox.add(_event(event_id), {}), ids))

    assert sum(stored) == ADDS // 2, "each id stored by exactly one of its two adds"
    with sqlite3.connect(outbox_path) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (ADDS // 2,)
    assert len(transactions) < ADDS, "some adds shared a commit"


def test_a_failed_commit_fails_every_add_of_its_batch(outbox: Outbox, outbox_path: Path) -> None:
    with sqlite3.connect(outbox_path) as db:
        db.execute("DROP TABLE outbox")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(outbox.add, _event(f"evt_{n}"), {}) for n in range(8)]

    for future in futures:
        with pytest.raises(OutboxUnavailableError):
            future.result()
