"""Following the gateway's access log: a real file written line by line, rotated and truncated."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from strangler_testing import wait_until
from tracestore.follower import GatewayLogFollower
from tracestore.models import SpanRecord
from tracestore.store import TraceStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
# Recent requests: the store drops traces past its retention age, so a fixed date would expire.
MINUTE = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")


def line(number: int, **overrides: Any) -> str:
    """Return the access-log line of request number (its span id is derived from it)."""
    entry: dict[str, Any] = {
        "time": f"{MINUTE}:{number % 60:02d}.250+00:00",
        "request_id": TRACE,
        "trace_id": TRACE,
        "span_id": f"{number:016x}",
        "parent_span_id": "",
        "method": "GET",
        "uri": f"/api/search?q={number}",
        "status": 200,
        "route": "search",
        "mode": "legacy",
        "target": "legacy",
        "bucket": 3,
        "fallback": False,
        "upstream_addr": "127.0.0.1:8000",
        "request_time": 0.004,
    }
    entry.update(overrides)
    return json.dumps(entry) + "\n"


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as log:
        log.write("".join(lines))


def span_ids(store: TraceStore) -> list[str]:
    return sorted(span.span_id for span in store.spans(TRACE))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    with TraceStore(tmp_path / "traces.sqlite3") as opened:
        yield opened


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "logs" / "access.log"
    path.parent.mkdir()
    return path


Start = Callable[[Path, TraceStore], GatewayLogFollower]


@pytest.fixture
def started() -> Iterator[Start]:
    """Return a function opening followers without a thread; each is closed when the test ends."""
    followers: list[GatewayLogFollower] = []

    def start(log: Path, store: TraceStore) -> GatewayLogFollower:
        follower = GatewayLogFollower(log, store)
        # Positioned as start() does, but without a thread: the test drives poll() itself.
        follower.open()
        followers.append(follower)
        return follower

    yield start
    for follower in followers:
        follower.stop()


def test_existing_lines_are_skipped_and_new_ones_stored(
    log: Path, store: TraceStore, started: Start
) -> None:
    append(log, line(1))
    follower = started(log, store)

    append(log, line(2), line(3))
    stored = follower.poll()

    assert stored == 2
    assert span_ids(store) == [f"{2:016x}", f"{3:016x}"]
    assert store.spans(TRACE)[0].service_name == "gateway"


def test_a_partial_line_waits_for_its_newline(log: Path, store: TraceStore, started: Start) -> None:
    log.touch()
    follower = started(log, store)
    text = line(1)

    append(log, text[:40])
    first = follower.poll()
    append(log, text[40:])
    second = follower.poll()

    assert (first, second) == (0, 1)
    assert span_ids(store) == [f"{1:016x}"]


def test_a_restart_resumes_at_the_saved_offset(
    log: Path, store: TraceStore, started: Start
) -> None:
    log.touch()
    follower = started(log, store)
    append(log, line(1))
    assert follower.poll() == 1
    follower.stop()

    append(log, line(2))  # written while the store is down
    again = started(log, store)
    resumed = again.poll()

    assert resumed == 1
    assert span_ids(store) == [f"{1:016x}", f"{2:016x}"]
    position = store.log_position(str(log.absolute()))
    assert position is not None
    assert position.offset == log.stat().st_size


def test_rotation_reads_the_old_files_tail_then_the_new_file(
    log: Path, store: TraceStore, started: Start
) -> None:
    log.touch()
    follower = started(log, store)
    append(log, line(1))
    follower.poll()

    append(log, line(2))  # nginx still writes to the renamed file until it reopens
    log.rename(log.with_suffix(".log.1"))
    append(log.with_suffix(".log.1"), line(3))
    assert follower.poll() == 2
    append(log, line(4))  # reopened: a new file at the old name
    stored = follower.poll()

    assert stored == 1
    assert span_ids(store) == [f"{n:016x}" for n in (1, 2, 3, 4)]


def test_truncation_restarts_at_the_first_byte(
    log: Path, store: TraceStore, started: Start
) -> None:
    log.touch()
    follower = started(log, store)
    append(log, line(1), line(2))
    follower.poll()

    log.write_text(line(3))  # copytruncate, then one new line
    stored = follower.poll()

    assert stored == 1
    assert f"{3:016x}" in span_ids(store)


def test_a_log_created_after_start_is_read_from_its_start(
    log: Path, store: TraceStore, started: Start
) -> None:
    follower = started(log, store)
    assert follower.poll() == 0

    append(log, line(1), line(2))

    assert follower.poll() == 2


def test_lines_that_are_not_spans_are_skipped(log: Path, store: TraceStore, started: Start) -> None:
    log.touch()
    follower = started(log, store)

    append(log, "garbage\n", line(1, span_id=""), "\n", line(2))

    assert follower.poll() == 1
    assert span_ids(store) == [f"{2:016x}"]


def _poll_spans(base_url: str, count: int) -> list[dict[str, Any]]:
    def spans() -> list[dict[str, Any]]:
        response = httpx.get(f"{base_url}/api/traces/{TRACE}", timeout=2.0)
        found: list[dict[str, Any]] = response.json()["spans"] if response.is_success else []
        return found if len(found) >= count else []

    return wait_until(spans, timeout=10.0, every=0.05, what=f"{count} gateway spans")


def test_serve_follows_the_log_and_a_restart_does_not_reread(log: Path, start_store: Any) -> None:
    append(log, line(1))  # before the first start: not this store's to import
    first = start_store("--gateway-log", str(log))
    append(log, line(2, status=503))

    spans = _poll_spans(first.base_url, 1)
    first.process.terminate()
    first.process.wait(timeout=10)
    append(log, line(3))
    second = start_store("--gateway-log", str(log), db_path=first.db_path)
    spans = _poll_spans(second.base_url, 2)

    assert [span["span_id"] for span in spans] == [f"{2:016x}", f"{3:016x}"]
    assert spans[0]["status"]["code"] == "ERROR"
    assert spans[0]["attributes"]["migration.route"] == "search"
    listed = httpx.get(f"{second.base_url}/api/traces", params={"route": "search"}).json()
    assert [(t["trace_id"], t["span_count"]) for t in listed["traces"]] == [(TRACE, 2)]


def test_a_failure_downstream_is_logged_and_following_goes_on(
    log: Path, store: TraceStore, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def forward(spans: Sequence[SpanRecord]) -> None:
        calls.append(len(spans))
        if len(calls) == 1:
            raise RuntimeError("the forwarder broke")

    log.touch()
    follower = GatewayLogFollower(log, store, poll_interval=0.02, forward=forward)
    follower.start()
    try:
        append(log, line(1))
        _wait_for(lambda: len(calls) == 1)
        append(log, line(2))
        _wait_for(lambda: span_ids(store) == [f"{1:016x}", f"{2:016x}"])
    finally:
        follower.stop()

    assert calls == [1, 1]
    assert "could not follow" in caplog.text and "the forwarder broke" in caplog.text


def _wait_for(check: Callable[[], bool], seconds: float = 10.0) -> None:
    wait_until(check, timeout=seconds)
