"""The store keeps a bounded history: whole traces past the age or the size limit are dropped."""

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tracestore import retention
from tracestore.app import create_app
from tracestore.models import SpanRecord
from tracestore.retention import NANOS_PER_SECOND, Retention, prune_step
from tracestore.store import TraceStore

SpanFactory = Callable[..., SpanRecord]
# The epoch of conftest's make_span: its start_ms count from here.
BASE_NANOS = 1_700_000_000_000_000_000


def _trace(make_span: SpanFactory, trace_id: str, start_ms: float, spans: int = 3) -> list[Any]:
    return [
        make_span(
            trace_id,
            f"{index + 1:016x}",
            None if index == 0 else f"{1:016x}",
            name=f"span {index}",
            service="core",
            start_ms=start_ms + index,
            end_ms=start_ms + index + 1,
            attributes={"pad": "x" * 400},
        )
        for index in range(spans)
    ]


def _ids(store: TraceStore) -> set[str]:
    return {summary.trace_id for summary in store.recent_traces(limit=10_000)}


def test_traces_older_than_the_age_limit_are_dropped_whole(
    tmp_path: Path, make_span: SpanFactory
) -> None:
    old, young = "a" * 32, "b" * 32
    with TraceStore(tmp_path / "t.sqlite3") as store:
        store.insert(_trace(make_span, old, start_ms=0))
        store.insert(_trace(make_span, young, start_ms=3_600_000))  # an hour later
        now = BASE_NANOS / NANOS_PER_SECOND + 3_600 + 60  # a minute after the young one
        removed = store.prune(Retention(max_age_seconds=1_800, max_bytes=None), now=now)
        assert (removed, _ids(store)) == (3, {young})
        assert store.spans(old) == [] and len(store.spans(young)) == 3


def test_the_oldest_traces_go_first_until_the_store_is_under_its_size(
    tmp_path: Path, make_span: SpanFactory
) -> None:
    ids = [f"{index:032x}" for index in range(1, 401)]
    with TraceStore(tmp_path / "t.sqlite3") as store:
        for index, trace_id in enumerate(ids):
            store.insert(_trace(make_span, trace_id, start_ms=index * 10))
        full = store.used_bytes()
        limit = full // 2
        store.prune(Retention(max_age_seconds=None, max_bytes=limit))
        kept = _ids(store)
        assert store.used_bytes() <= limit
        assert kept and kept == set(ids[-len(kept) :])  # the newest survive, in one piece
        assert all(len(store.spans(trace_id)) == 3 for trace_id in kept)


def _steps_to_drop_old_traces(
    db: Path, make_span: SpanFactory, young_traces: int
) -> tuple[int, int]:
    """Store 10 old traces and ``young_traces`` young ones; count SQLite's steps to drop the old."""
    with TraceStore(db) as store:
        for index in range(10):
            store.insert(_trace(make_span, f"a{index:031x}", start_ms=index * 10))
        store.insert(
            [
                span
                for index in range(young_traces)
                for span in _trace(make_span, f"b{index:031x}", start_ms=3_600_000 + index)
            ]
        )
    conn = sqlite3.connect(db, isolation_level=None)
    steps = 0

    def count_step() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    conn.set_progress_handler(count_step, 100)  # called every 100 virtual machine instructions
    now = BASE_NANOS / NANOS_PER_SECOND + 3_600
    removed = 0
    while dropped := prune_step(conn, Retention(max_age_seconds=1_800, max_bytes=None), now):
        removed += dropped
    conn.close()
    return steps, removed


def test_dropping_old_traces_costs_what_it_drops_not_what_it_keeps(
    tmp_path: Path, make_span: SpanFactory
) -> None:
    # A round runs every 10 s, and after a load run the store keeps hundreds of thousands of
    # spans: a round must find the old traces by the start-time index, not visit every span.
    few = _steps_to_drop_old_traces(tmp_path / "few.sqlite3", make_span, young_traces=100)
    many = _steps_to_drop_old_traces(tmp_path / "many.sqlite3", make_span, young_traces=3_000)

    assert few[1] == many[1] == 30
    assert many[0] < 2 * few[0], (few, many)


def test_each_step_drops_whole_traces_of_at_most_a_step_of_spans(
    tmp_path: Path, make_span: SpanFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "STEP_SPANS", 30)
    keep_half_an_hour = Retention(max_age_seconds=1_800, max_bytes=None)
    now = BASE_NANOS / NANOS_PER_SECOND + 3_600
    with TraceStore(tmp_path / "t.sqlite3") as store:
        for index in range(100):
            store.insert(_trace(make_span, f"{index + 1:032x}", start_ms=index * 10))
    conn = sqlite3.connect(tmp_path / "t.sqlite3", isolation_level=None)
    steps = []
    while dropped := prune_step(conn, keep_half_an_hour, now):
        steps.append(dropped)
        left = conn.execute("SELECT COUNT(*), COUNT(DISTINCT trace_id) FROM spans").fetchone()
        assert left[0] == 3 * left[1]  # whole traces only
    conn.close()
    assert steps == [30] * 10


def test_a_round_lets_an_export_in_between_its_steps(
    tmp_path: Path, make_span: SpanFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A service's exporter drops spans once its queue fills: an export must not wait for a whole
    # round to end, only for the step under way.
    monkeypatch.setattr(retention, "STEP_SPANS", 30)
    old = [f"a{index:031x}" for index in range(100)]
    young = "b" * 32
    first_step_done, exported = threading.Event(), threading.Event()
    between: list[int] = []

    def between_steps() -> None:
        between.append(len(between))
        if not first_step_done.is_set():
            first_step_done.set()
            exported.wait(timeout=10)

    with TraceStore(tmp_path / "t.sqlite3") as store:
        for index, trace_id in enumerate(old):
            store.insert(_trace(make_span, trace_id, start_ms=index * 10))
        now = BASE_NANOS / NANOS_PER_SECOND + 3_600
        keep_half_an_hour = Retention(max_age_seconds=1_800, max_bytes=None)
        removed: list[int] = []
        pruning = threading.Thread(
            target=lambda: removed.append(
                store.prune(keep_half_an_hour, now, between_steps=between_steps)
            )
        )
        pruning.start()
        assert first_step_done.wait(timeout=10)
        store.insert(_trace(make_span, young, start_ms=3_600_000))
        during = _ids(store)
        exported.set()
        pruning.join(timeout=30)

        assert young in during and len(during & set(old)) == 90  # in after one step of ten
        assert (removed, _ids(store), len(between)) == ([300], {young}, 10)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="more than 0"):
        Retention(max_age_seconds=0)
    with pytest.raises(ValueError, match="more than 0"):
        Retention(max_bytes=-1)


def test_the_running_store_drops_old_traces_by_itself(
    tmp_path: Path, make_span: SpanFactory
) -> None:
    with TraceStore(tmp_path / "t.sqlite3") as store:
        store.insert(_trace(make_span, "c" * 32, start_ms=0))  # in 2023: past a week
        app = create_app(store, retention=Retention(max_age_seconds=3600, max_bytes=None))
        with TestClient(app):
            deadline = time.monotonic() + 10
            while _ids(store) and time.monotonic() < deadline:
                time.sleep(0.05)
        assert _ids(store) == set()
