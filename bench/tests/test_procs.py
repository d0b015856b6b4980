"""The process-tree accounting the workloads read from /proc."""

import os
import subprocess
import sys
import time

from strangler_bench.load import LoadResult
from strangler_bench.procs import cpu_per_request, cpu_seconds

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


def test_cpu_per_request_reads_each_tree_in_the_order_given() -> None:
    # The load burns 0.4 s in this process over 40 answers; the other tree, the store, idles.
    # cpu_per_request waits for the store to be quiet first: its start-up is not counted.
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:

        def load() -> LoadResult:
            end = time.process_time() + 0.4
            while time.process_time() < end:
                pass
            return LoadResult(completed=40, errors=0, seconds=1.0, p50_ms=1.0, p99_ms=1.0, tool="t")

        result, (here, there) = cpu_per_request(
            load, [os.getpid(), idle.pid], store=idle.pid, export_delay=0.0
        )
    finally:
        idle.kill()
        idle.wait()
    # 0.4 s over 40 answers is 10 ms each; the idle tree spent nothing per answer.
    assert result.answered == 40 and 8_000 <= here <= 20_000, here
    assert there < 1_000, there
