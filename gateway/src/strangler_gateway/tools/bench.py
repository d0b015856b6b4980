"""Benchmark: the gateway's latency and throughput, steady and while traffic shifts.

``uv run python -m strangler_gateway.tools.bench`` starts a real nginx in front of two stand-in
upstreams on free ports, runs the same bounded keep-alive load twice (once steady, once while a
route flips between 0 % and 100 % new), times each shift (render, ``nginx -t``, swap, reload,
confirmed), and prints the numbers as tables. Speed is measured here, never asserted in tests.
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from strangler_gateway.tools.loadgen import Load, LoadResult
from strangler_gateway.tools.standins import (
    CANARY_TABLE,
    EchoUpstream,
    LocalGateway,
    local_gateway,
)
from strangler_gateway.traffic.control import set_route_mode

__all__ = ["main"]


def _run(
    gateway: LocalGateway, args: argparse.Namespace, shifts: int
) -> tuple[LoadResult, float, list[float]]:
    load = Load(gateway.url, "/api/search?q=bench", total=args.requests, threads=args.threads,
                headers=lambda number: {"X-User-Id": f"user-{number % 500}"})  # fmt: skip
    started = time.perf_counter()
    load.start()
    apply_ms = []
    for shift in range(shifts):
        load.wait_until((shift + 1) * args.requests // (shifts + 1), timeout=300)
        begun = time.perf_counter()
        set_route_mode(gateway.table_path, gateway.prefix, "search", "canary",
                       100 if shift % 2 == 0 else 0)  # fmt: skip
        apply_ms.append((time.perf_counter() - begun) * 1000)
    result = load.join(timeout=600)
    return result, time.perf_counter() - started, apply_ms


def _load_row(view: Table, name: str, result: LoadResult, seconds: float) -> None:
    cuts = statistics.quantiles(result.latencies_ms, n=100) if len(result.latencies_ms) > 1 else []
    p50, p99 = (f"{cuts[49]:.2f}", f"{cuts[98]:.2f}") if cuts else ("-", "-")
    view.add_row(name, str(result.done), str(len(result.failures)), str(result.stale_retries),
                 f"{result.done / seconds:,.0f}", p50, p99)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(
        prog="python -m strangler_gateway.tools.bench", description=__doc__
    )
    parser.add_argument("--requests", type=int, default=20_000, help="requests per run")
    parser.add_argument("--threads", type=int, default=8, help="keep-alive clients")
    parser.add_argument("--shifts", type=int, default=10, help="shifts during the second run")
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as folder, EchoUpstream("legacy") as legacy, \
            EchoUpstream("new") as new:  # fmt: skip
        table = Path(folder) / "routes.toml"
        table.write_text(CANARY_TABLE)
        servers = {"legacy": [legacy.address], "new": [new.address]}
        with local_gateway(table, Path(folder) / "nginx", servers) as gateway:
            steady, steady_seconds, _ = _run(gateway, args, 0)
            shifting, shifting_seconds, apply_ms = _run(gateway, args, args.shifts)
    view = Table(title=f"load: {args.requests} requests, {args.threads} keep-alive clients")
    for column in ("run", "requests", "failed", "stale retries", "req/s", "p50 ms", "p99 ms"):
        view.add_column(column, justify="left" if column == "run" else "right")
    _load_row(view, "steady", steady, steady_seconds)
    _load_row(view, f"{args.shifts} shifts", shifting, shifting_seconds)
    console.print(view)
    if apply_ms:
        shifts = Table(title="one shift: render, nginx -t, swap, reload, confirmed")
        for column in ("shifts", "min ms", "median ms", "max ms"):
            shifts.add_column(column, justify="right")
        shifts.add_row(str(len(apply_ms)), f"{min(apply_ms):.0f}",
                       f"{statistics.median(apply_ms):.0f}", f"{max(apply_ms):.0f}")  # fmt: skip
        console.print(shifts)
    return 0 if not steady.failures and not shifting.failures else 1


if __name__ == "__main__":
    sys.exit(main())
