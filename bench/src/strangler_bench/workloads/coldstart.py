"""Workload 6: cold start: from process start to the first 200 of ``GET /healthz``, per service.

Each service starts with its deployed command line and settings (core and webhooks under
gunicorn with 2 workers, rag as one uvicorn process that answers only once its first knowledge
base sync from core is done), polled every 20 ms.
"""

from collections.abc import Callable

from strangler_bench.context import Bench
from strangler_bench.model import Section, Spread
from strangler_bench.procs import Server
from strangler_bench.servers import SIMULATED_CORE, SIMULATED_RAG


def run(bench: Bench) -> Section:
    """Start each service ``cold_repeats`` times and time its first 200."""
    launch = bench.launch
    starts: list[tuple[str, Callable[[], Server]]] = [
        ("core (gunicorn, 2 workers x 4 threads)",
         lambda: launch.core("cold-core", workers=2, threads=4, env=SIMULATED_CORE)),
        ("rag (1 uvicorn process, first sync included)",
         lambda: launch.rag("cold-rag", SIMULATED_RAG)),
        ("webhooks (gunicorn gthread, 2 workers x 4 threads)",
         lambda: launch.webhooks("cold-webhooks", workers=2, env={})),
    ]  # fmt: skip
    section = Section(
        "coldstart",
        "Cold start: process start to first 200",
        "Time from spawning the process to the first `200` from `GET /healthz`, polled every "
        f"20 ms, {bench.settings.cold_repeats} starts per service (imports warm in the page "
        "cache after the first).",
    )
    table = section.table("seconds, median (min-max)", "service", "start to first 200 s")
    for label, start in starts:
        seconds = []
        for _ in range(bench.settings.cold_repeats):
            server = bench.keep(start())
            seconds.append(server.ready_seconds)
            bench.drop(server)
        table.add(label, Spread.of(seconds).fmt(2))
    return section
