"""Drop counts survive a failed write: the flushing loop keeps them, logs, and keeps running."""

import asyncio
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from strangler_gateway.shadow import comparator as comparator_module
from strangler_gateway.shadow.comparator import Comparator, Job
from strangler_gateway.shadow.config import ComparatorSettings, ShadowTarget
from strangler_gateway.shadow.store import ShadowStore

TARGET = ShadowTarget("search", legacy=("127.0.0.1:9",), new=("127.0.0.1:9",))


class _LockedOnce(ShadowStore):
    """A store whose first drop write fails, as a database locked by a reader would."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.drop_writes = 0

    def add_drops(self, counts: Mapping[str, int], at: float | None = None) -> None:
        self.drop_writes += 1
        if self.drop_writes == 1:
            raise sqlite3.OperationalError("database is locked")
        super().add_drops(counts, at)


def _recorded_drops(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        (total,) = connection.execute("SELECT COALESCE(SUM(count), 0) FROM drops").fetchone()
    return int(total)


async def _drop_three(settings: ComparatorSettings, store: _LockedOnce) -> None:
    async with httpx.AsyncClient() as client:
        # No workers and room for one job: of three submitted, two are dropped at once and the
        # queued one is dropped at stop.
        comparator = Comparator(
            replace(settings, workers=0, queue_size=1), store, client, trace.NoOpTracer()
        )
        await comparator.start()
        for _ in range(3):
            comparator.submit(Job("search", "GET", "/api/search?q=refund"), TARGET)
        deadline = time.monotonic() + 10
        while store.drop_writes < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await comparator.stop()
    assert store.drop_writes >= 2, "the flushing loop ended with its first failed write"


def test_a_failed_drop_write_loses_no_count_and_the_loop_goes_on(
    settings: ComparatorSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(comparator_module, "DROP_FLUSH_SECONDS", 0.05)
    store = _LockedOnce(settings.db)

    with store:
        asyncio.run(_drop_three(settings, store))

    assert _recorded_drops(settings.db) == 3
    assert "could not record 2 dropped comparison(s)" in caplog.text
