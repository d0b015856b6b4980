"""What else used the CPU while a workload ran: processes outside the bench's own tree, by name."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from strangler_bench.others import Others, between, snapshot
from strangler_bench.procs import cpu_seconds, tree

_SLEEP = "time.sleep(30)\n"


def _burner(name: str, seconds: float) -> str:
    """Python code that takes ``name`` as its command name, then burns ``seconds`` of CPU."""
    return (
        "import ctypes, time\n"
        f"ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)\n"  # PR_SET_NAME
        f"end = time.process_time() + {seconds}\n"
        "while time.process_time() < end: pass\n"
    )


def _until_burnt(pid: int, seconds: float) -> None:
    """Wait until the tree under ``pid`` has used ``seconds`` of CPU, for 20 s at the most."""
    deadline = time.monotonic() + 20
    while cpu_seconds(pid) < seconds and time.monotonic() < deadline:
        time.sleep(0.1)


def _named(name: str) -> int:
    """The process with command name ``name``, or 0."""
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, check=False)
    return int(found.stdout.split()[0]) if found.stdout.split() else 0


def _stop(bench: "subprocess.Popen[bytes]", *more: int) -> None:
    """Kill the stand-in bench, what is left of its tree and ``more``, and wait until all of it is
    gone: PID 1 takes in what outlives its parent and waits for it a second or two later, which
    would fall in the next test's window as CPU used outside."""
    pids = [*tree(bench.pid), *(pid for pid in more if pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    bench.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def _bench_tree(child: str) -> Iterator[int]:
    """A stand-in for the bench: a process that runs ``child`` as its own child, then sleeps."""
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "time.sleep(30)\n"
    )
    bench = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield bench.pid
    finally:
        _stop(bench)


def test_a_process_outside_the_bench_is_named_with_the_cores_it_used() -> None:
    with _bench_tree(_burner("insider", 0.6) + _SLEEP) as root:
        before = snapshot(root)
        outsider = subprocess.Popen([sys.executable, "-c", _burner("outsider", 0.6) + _SLEEP])
        try:
            _until_burnt(outsider.pid, 0.5)
            _until_burnt(root, 0.5)
            others = between(before, snapshot(root))
        finally:
            outsider.kill()
            outsider.wait()

    names = dict(others.top)
    # The outsider's 0.6 s over a window of a second or so, still running at the second reading;
    # the insider's 0.6 s, meanwhile, is the bench's own.
    assert "outsider" in names and names["outsider"] >= 0.2, others
    assert "insider" not in names, others
    assert others.cores >= names["outsider"]


def test_a_process_that_came_and_went_outside_is_counted_through_its_parent() -> None:
    with _bench_tree("import time; time.sleep(30)") as root:
        before = snapshot(root)
        # Started, finished and waited for within the window: its CPU is this test's children's.
        subprocess.run([sys.executable, "-c", _burner("gone", 0.5)], check=True, timeout=20)
        others = between(before, snapshot(root))

    assert others.cores >= 0.2, others


def _orphaning_bench(name: str, adopt: bool) -> str:
    """A stand-in bench whose child starts a burning worker, ``name``, and exits before it, as a
    server's master can when stopped; with ``adopt`` the bench first adopts its orphans."""
    worker = _burner(name, 1.0) + _SLEEP
    master = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {worker!r}])"
    return (
        "import subprocess, sys, time\n"
        "from strangler_bench.others import adopt_orphans\n"
        f"{'adopt_orphans()' if adopt else ''}\n"
        f"subprocess.run([sys.executable, '-c', {master!r}], check=True)\n"
        "time.sleep(30)\n"
    )


def _orphan_cores(adopt: bool) -> float:
    """What the processes outside the stand-in bench used while its left-behind worker burnt."""
    name = "adopted" if adopt else "left"
    bench = subprocess.Popen([sys.executable, "-c", _orphaning_bench(name, adopt)])
    try:
        before = snapshot(bench.pid)
        deadline = time.monotonic() + 20
        while not (worker := _named(name)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker, "the worker never started"
        _until_burnt(worker, 0.9)
        return between(before, snapshot(bench.pid)).cores
    finally:
        _stop(bench, _named(name))


def test_a_worker_its_master_left_behind_stays_the_bench_s() -> None:
    # Its 1 s of CPU over a window of a second or so. Without adoption PID 1 takes the worker in,
    # and its CPU reads as a process's outside; adopted, what is left outside is this test's own
    # polling.
    assert _orphan_cores(adopt=False) >= 0.5
    assert _orphan_cores(adopt=True) < 0.4


def test_the_text_names_the_busiest_commands() -> None:
    assert Others(0.0, ()).text() == "0.00 cores"
    busy = Others(0.853, (("pytest", 0.8), ("make", 0.05)))
    assert busy.text() == "0.85 cores (pytest 0.80, make 0.05)"
