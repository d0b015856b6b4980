"""The process-tree accounting the workloads read from /proc."""

import subprocess
import sys
import time

from strangler_bench.procs import cpu_seconds

_BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_cpu_seconds_counts_the_children_of_the_tree() -> None:
    # The parent sleeps; its child burns 0.4 s of CPU, then both wait to be measured.
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.run([sys.executable, '-c', {_BURN + 'time.sleep(30)'!r}])\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        before = cpu_seconds(parent.pid)
        deadline = time.monotonic() + 10
        # Until the child has burnt its share, or the deadline (then the assertion says so).
        while (used := cpu_seconds(parent.pid) - before) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)  # the child, then its parent
        parent.kill()
        parent.wait()
    assert 0.3 <= used <= 1.2, used


def test_cpu_seconds_of_a_gone_process_is_zero() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert cpu_seconds(process.pid) == 0
