"""``strangler load [--duration S] [--rate RPS] [--users N]``: traffic for a rollout to judge.

A bounded mix of searches and chat answers (JSON and SSE) from many sticky users, sent to the
gateway on 127.0.0.1 with a progress bar, then summarised per side.
"""

import argparse

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.nginx.layout import Layout, RenderState
from strangler_gateway.tools.mixload import MixedLoad, MixResult

__all__ = ["load", "load_arguments"]


def load_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --duration, --rate, --users and --url."""
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second (default 50)")
    parser.add_argument(
        "--users", type=int, default=500, help="distinct sticky users (default 500)"
    )
    parser.add_argument("--url", help="the gateway (default: where the live config listens)")


def load(args: argparse.Namespace, ctx: Context) -> int:
    """Send the load, then print what each side answered."""
    url = args.url or f"http://{_listen(ctx)}"
    generator = MixedLoad(url, seconds=args.duration, rate=args.rate, users=args.users)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=ctx.console, transient=True) as progress:
        task = progress.add_task(f"load on {url}", total=generator.total)
        result = generator.run(lambda done: progress.update(task, completed=done))
    ctx.console.print(_table(result))
    failures = ", ".join(f"{n} {why}" for why, n in result.failures.most_common()) or "none"
    ctx.console.print(f"{result.sent} requests; failures: {failures}", markup=False)
    return Exit.OK


def _listen(ctx: Context) -> str:
    listen = RenderState.read(Layout.at(ctx.prefix)).listen or ctx.table().gateway.listen
    host, port = listen.rsplit(":", 1)
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "*", "") else listen


def _table(result: MixResult) -> Table:
    view = Table(title="per side", title_justify="left")
    for column in ("side", "requests", "errors", "p50 ms", "p99 ms"):
        view.add_column(column, justify="left" if column == "side" else "right")
    for side in result.sides():
        p50 = "-" if side.p50_ms is None else f"{side.p50_ms:.1f}"
        p99 = "-" if side.p99_ms is None else f"{side.p99_ms:.1f}"
        view.add_row(side.side, str(side.requests), str(side.errors), p50, p99)
    return view
