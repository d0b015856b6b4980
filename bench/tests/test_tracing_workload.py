"""The tracing workload's accounting: CPU time per request answered over the whole run."""

import os
import subprocess
import sys
import time

from strangler_bench.load import LoadResult
from strangler_bench.workloads import tracing


def test_cpu_per_request_counts_the_answers_outside_the_steady_window() -> None:
    # A fixed-rounds load whose window held 10 of its 40 answers: the server's CPU time paid for
    # all 40.
    def measure(url: str) -> LoadResult:
        end = time.process_time() + 0.4
        while time.process_time() < end:
            pass
        return LoadResult(
            completed=10, errors=0, seconds=1.0, p50_ms=1.0, p99_ms=1.0, tool="test",
            outside_window=30,
        )  # fmt: skip

    # A trace store that does nothing: it says so once its start-up's CPU time is spent.
    sleeper = "import time; print('ready', flush=True); time.sleep(30)"
    store = subprocess.Popen([sys.executable, "-c", sleeper], stdout=subprocess.PIPE, text=True)
    try:
        assert store.stdout is not None and store.stdout.readline() == "ready\n"
        twin = tracing._Twin("http://127.0.0.1:1", os.getpid())
        result, server_us, store_us = tracing._measured(measure, twin, store.pid)
    finally:
        store.kill()
        store.communicate()
    # 0.4 s over 40 answers is 10 ms each; over the window's 10 it would read 40 ms.
    assert result.answered == 40 and 8_000 <= server_us <= 20_000, server_us
    assert store_us < 1_000
