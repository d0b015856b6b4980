"""How fast the machine ran, so runs on different days can be compared.

Each figure of a run is a ratio taken within it, but a reader comparing two runs needs to know
whether the machine itself was as fast: the same 2-core VM has served bare Django at 1,325 rps
one day and 2,615 another, with no other process running. The yardstick is the bare Django
hello-world's ``GET /healthz`` called through its WSGI app in a process of its own, one thread,
no sockets: pure Python work of the kind the services do. It is taken before the stack starts,
before each workload (about two seconds each, the stack idle) and after the stack stops: the same
VM's speed moved by 5 % within a run, and a near-line goal missed in a slow spell shows as such.

Each reading is two figures. Back to back, the call's code and data stay in the CPU's caches: the
machine's speed when it is busy. After a pause, the call meets what the pause left of them, as a
service's work does when it serves one request at a time: with nothing else running the same VM
took 49 µs back to back and 294 after a 2 ms pause, and the second figure moved far more from
minute to minute (bench/FINDINGS.md, "Work after a pause").
"""

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

CALLS = 2000
BLOCKS = 5
PAUSED_CALLS = 500
PAUSE_SECONDS = 0.002
"""About one request's time at one client: what a service sleeps between its turns in a chain."""


@dataclass(frozen=True)
class Reading:
    """The yardstick's microseconds per call: the lower, the faster the machine."""

    hot_us: float
    """Back to back: the best of ``BLOCKS`` blocks of ``CALLS`` calls."""
    cold_us: float
    """After a pause: the median of ``PAUSED_CALLS`` calls, each after ``PAUSE_SECONDS``."""

    def text(self) -> str:
        """The reading as the report prints it: back to back / after a pause."""
        return f"{self.hot_us:.1f} / {self.cold_us:.0f}"


@dataclass(frozen=True)
class Speed:
    """Every reading of a run."""

    start: Reading
    end: Reading | None = None
    workloads: Sequence[tuple[str, Reading | None]] = ()
    """Each workload's name and the reading taken just before it (None: the reading failed)."""

    def readings(self) -> list[Reading]:
        """Every reading taken: before the stack started, before each workload, after it stopped."""
        taken = [self.start, *(reading for _, reading in self.workloads), self.end]
        return [reading for reading in taken if reading is not None]

    def line(self) -> str:
        """Describe the machine's speed for the report."""
        text = (
            f"speed: bare Django's `/healthz` in one process, µs per call back to back (best of "
            f"{BLOCKS} blocks) / after a {PAUSE_SECONDS * 1000:g} ms pause (median of "
            f"{PAUSED_CALLS}), {self.start.text()} before the stack started"
        )
        if self.workloads:
            readings = ", ".join(f"{name} {reading_text(r)}" for name, r in self.workloads)
            text += f"; before each workload: {readings}"
        if self.end is not None:
            text += f"{';' if self.workloads else ','} {self.end.text()} after it stopped"
        return text + " (lower is faster; compare runs by it)"


def reading_text(reading: Reading | None) -> str:
    """A reading as the report prints it, or that it is missing."""
    return "not measured" if reading is None else reading.text()


def measure(calls: int = CALLS, blocks: int = BLOCKS, paused_calls: int = PAUSED_CALLS) -> Reading:
    """Return the yardstick's reading, taken in a fresh interpreter."""
    result = subprocess.run(
        [
            sys.executable, "-m", "strangler_bench.calibration",
            str(calls), str(blocks), str(paused_calls),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )  # fmt: skip
    hot_us, cold_us = json.loads(result.stdout)
    return Reading(float(hot_us), float(cold_us))


def measure_or_none() -> Reading | None:
    """Return :func:`measure`, or None if it fails (the run's figures are written regardless)."""
    try:
        return measure()
    except (subprocess.SubprocessError, ValueError):
        return None


def _probe(calls: int, blocks: int, paused_calls: int) -> tuple[float, float]:
    """Time ``calls`` calls ``blocks`` times, after as many to warm up, then ``paused_calls`` calls
    each after a pause; return the best µs per call back to back and the median after a pause."""
    # Imported here: the hello-world configures Django's settings, for this process only.
    from strangler_bench.apps._django_hello import get_healthz
    from strangler_bench.apps.hello_django import application

    def call() -> None:
        status, _, body = get_healthz(application)
        assert status == "200 OK" and body == b'{"status": "ok"}', (status, body)

    for _ in range(calls):
        call()
    # Best of several blocks: the machine's speed when nothing interrupts it, not its noise.
    best = []
    for _ in range(blocks):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best.append((time.perf_counter() - started) / calls * 1e6)
    paused = []
    for _ in range(paused_calls):
        time.sleep(PAUSE_SECONDS)
        started = time.perf_counter()
        call()
        paused.append((time.perf_counter() - started) * 1e6)
    return min(best), statistics.median(paused)


if __name__ == "__main__":
    print(json.dumps(_probe(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
