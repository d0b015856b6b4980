"""Benchmark: what a traffic change costs a client that never retries (wrk, keep-alive).

``uv run python -m strangler_gateway.tools.changecost`` starts a real nginx in front of two
stand-in upstreams on free ports and runs wrk (50 keep-alive connections, no retries) three
times for the same duration: steady, while the route's percentage is shifted (a live write, no
reload), and while its mode flips between canary and migrated (structural: a graceful reload).
It prints requests, socket errors (connect, read, write, timeout) and non-2xx answers per run:
the figure gateway/README.md quotes. wrk must be installed (``apt-get install wrk``).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from strangler_gateway.tools.standins import (
    CANARY_TABLE,
    EchoUpstream,
    LocalGateway,
    local_gateway,
)
from strangler_gateway.traffic.control import set_route_mode

__all__ = ["main"]

_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class WrkRun:
    """What wrk counted in one run."""

    name: str
    changes: int
    requests: int
    socket_errors: tuple[int, int, int, int]
    non_2xx: int


def _wrk(url: str, seconds: float, connections: int) -> subprocess.Popen[str]:
    binary = shutil.which("wrk")
    if binary is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
               f"{url}/api/search?q=wrk"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _parse(name: str, changes: int, output: str) -> WrkRun:
    requests = re.search(r"(\d+) requests in", output)
    errors = _ERRORS.search(output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    counted = tuple(int(n) for n in errors.groups()) if errors else (0, 0, 0, 0)
    return WrkRun(name, changes, int(requests[1]) if requests else 0,
                  counted, int(non_2xx[1]) if non_2xx else 0)  # type: ignore[arg-type]  # fmt: skip


def _run(gateway: LocalGateway, name: str, args: argparse.Namespace,
         change: Callable[[int], None] | None) -> WrkRun:  # fmt: skip
    wrk = _wrk(gateway.url, args.seconds, args.connections)
    done = 0
    if change is not None:
        pause = args.seconds / (args.changes + 1)
        for number in range(args.changes):
            time.sleep(pause)
            change(number)
            done += 1
    output, _ = wrk.communicate(timeout=args.seconds + 60)
    return _parse(name, done, output)


def _runs(gateway: LocalGateway, args: argparse.Namespace) -> list[WrkRun]:
    table, prefix = gateway.table_path, gateway.prefix

    def shift(number: int) -> None:
        set_route_mode(table, prefix, "search", "canary", 100 if number % 2 == 0 else 0)

    def flip(number: int) -> None:
        if number % 2 == 0:
            set_route_mode(table, prefix, "search", "migrated")
        else:
            set_route_mode(table, prefix, "search", "canary", 0)

    runs = [_run(gateway, "steady", args, None), _run(gateway, "shifts (live)", args, shift)]
    set_route_mode(table, prefix, "search", "canary", 0)
    runs.append(_run(gateway, "mode changes (reload)", args, flip))
    return runs


def _print(runs: list[WrkRun], args: argparse.Namespace) -> None:
    view = Table(title=f"wrk, {args.connections} keep-alive connections, {args.seconds:g} s each, "
                 "no retries", title_justify="left")  # fmt: skip
    for column in ("run", "changes", "requests", "connect", "read", "write", "timeout", "non-2xx"):
        view.add_column(column, justify="left" if column == "run" else "right")
    for run in runs:
        view.add_row(run.name, str(run.changes), str(run.requests),
                     *(str(n) for n in run.socket_errors), str(run.non_2xx))  # fmt: skip
    Console().print(view)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three wrk runs and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="each run (default 10)")
    parser.add_argument("--changes", type=int, default=10, help="per changing run (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as folder,
        EchoUpstream("legacy") as legacy,
        EchoUpstream("new") as new,
    ):
        table = Path(folder) / "routes.toml"
        table.write_text(CANARY_TABLE)
        servers = {"legacy": [legacy.address], "new": [new.address]}
        with local_gateway(table, Path(folder) / "nginx", servers) as gateway:
            _print(_runs(gateway, args), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
