"""What else used the CPU while a workload ran: processes outside the bench's own tree, by name."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from strangler_bench.others import Others, between, snapshot
from strangler_bench.procs import cpu_seconds


def _burner(name: str, seconds: float) -> str:
    """Python code that takes ``name`` as its command name, then burns ``seconds`` of CPU."""
    return (
        "import ctypes, time\n"
        f"ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)\n"  # PR_SET_NAME
        f"end = time.process_time() + {seconds}\n"
        "while time.process_time() < end: pass\n"
    )


_SLEEP = "time.sleep(30)\n"


def _until_burnt(pid: int, seconds: float) -> None:
    """Wait until the tree under ``pid`` has used ``seconds`` of CPU, for 20 s at the most."""
    deadline = time.monotonic() + 20
    while cpu_seconds(pid) < seconds and time.monotonic() < deadline:
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
        subprocess.run(["pkill", "-P", str(bench.pid)], check=False)
        bench.kill()
        bench.wait()


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


def test_the_text_names_the_busiest_commands() -> None:
    assert Others(0.0, ()).text() == "0.00 cores"
    busy = Others(0.853, (("pytest", 0.8), ("make", 0.05)))
    assert busy.text() == "0.85 cores (pytest 0.80, make 0.05)"
