"""How fast the machine ran, so runs on different days can be compared.

Each figure of a run is a ratio taken within it, but a reader comparing two runs needs to know
whether the machine itself was as fast: the same 2-core VM has served bare Django at 1,325 rps
one day and 2,615 another, with no other process running. The yardstick is the bare Django
hello-world's ``GET /healthz`` called through its WSGI app in a process of its own, one thread,
no sockets: pure Python work of the kind the services do. It is taken before the stack starts,
before each workload (about a second each, the stack idle) and after the stack stops: the same VM's
speed moved by 5 % within a run, and a near-line goal missed in a slow spell shows as such.
"""

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

CALLS = 2000
BLOCKS = 5


@dataclass(frozen=True)
class Speed:
    """The yardstick's microseconds per call: the lower, the faster the machine."""

    start_us: float
    end_us: float | None = None
    workloads: Sequence[tuple[str, float | None]] = ()
    """Each workload's name and the reading taken just before it (None: the reading failed)."""

    def readings(self) -> list[float]:
        """Every reading taken: before the stack started, before each workload, after it stopped."""
        taken = [self.start_us, *(us for _, us in self.workloads), self.end_us]
        return [us for us in taken if us is not None]

    def line(self) -> str:
        """Describe the machine's speed for the report."""
        text = (
            f"speed: bare Django's `/healthz` in one process, best of {BLOCKS} blocks, "
            f"{self.start_us:.1f} µs per call before the stack started"
        )
        if self.workloads:
            readings = ", ".join(f"{name} {us_text(us)}" for name, us in self.workloads)
            text += f"; before each workload: {readings}"
        if self.end_us is not None:
            text += f"{';' if self.workloads else ','} {self.end_us:.1f} after it stopped"
        return text + " (lower is faster; compare runs by it)"


def us_text(us: float | None) -> str:
    """A reading as the report prints it."""
    return "not measured" if us is None else f"{us:.1f}"


def measure(calls: int = CALLS, blocks: int = BLOCKS) -> float:
    """Return the yardstick's best microseconds per call, taken in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-m", "strangler_bench.calibration", str(calls), str(blocks)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(json.loads(result.stdout))


def measure_or_none() -> float | None:
    """Return :func:`measure`, or None if it fails (the run's figures are written regardless)."""
    try:
        return measure()
    except (subprocess.SubprocessError, ValueError):
        return None


def _probe(calls: int, blocks: int) -> float:
    """Time ``calls`` calls ``blocks`` times, after as many to warm up; return the best µs."""
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
    return min(best)


if __name__ == "__main__":
    print(json.dumps(_probe(int(sys.argv[1]), int(sys.argv[2]))))
