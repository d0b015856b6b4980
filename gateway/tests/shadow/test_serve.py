"""``python -m strangler_gateway.shadow serve``: the process the local stack and compose run."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from strangler_testing.gateway import fetch, free_port
from strangler_testing.shadow import JsonUpstream, wait_for_comparisons

from .conftest import PostMirror

ANSWER = {"query": "card", "k": 3, "results": [{"id": 1, "score": 1.0}]}


def _environment() -> dict[str, str]:
    # No trace backend in this test: the comparator must run without exporting.
    return {**os.environ, "OTEL_TRACES_EXPORTER": "none", "STRANGLER_LOG_FORMAT": "text"}


@contextmanager
def _serving(args: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "strangler_gateway.shadow", "serve", *args]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.communicate()


def _wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the comparator exited during startup"
        try:
            if fetch(url, "/healthz").status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"the comparator was not ready within {timeout:g} s"
        time.sleep(0.05)


def test_serve_compares_with_the_route_table_and_stops_cleanly(
    table_path: Path, tmp_path: Path, mirror: PostMirror
) -> None:
    port = free_port()
    db = tmp_path / "var" / "shadow.sqlite3"
    with JsonUpstream(ANSWER) as legacy, JsonUpstream({**ANSWER, "k": 4}) as new:
        args = [
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--routes", str(table_path), "--db", str(db)),
            *("--upstream", f"monolith={legacy.address}", "--upstream", f"service={new.address}"),
        ]
        with _serving(args, tmp_path) as process:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, process)
            assert mirror(url).status == 202
            (row,) = wait_for_comparisons(db)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
    assert row["outcome"] == "diff" and row["diff"] == [{"path": "k", "legacy": 3, "new": 4}]


def test_serve_refuses_an_unknown_upstream_in_one_line(table_path: Path, tmp_path: Path) -> None:
    args = ["--routes", str(table_path), "--port", str(free_port()), "--upstream", "nope=h:1"]
    with _serving(args, tmp_path) as process:
        assert process.wait(timeout=20) == 2
        _, err = process.communicate()
    assert "cannot start" in err and "nope" in err
    assert "Traceback" not in err
