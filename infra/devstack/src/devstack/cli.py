"""``devstack up | down | status | tour``: the local stack from the command line (``make up``)."""

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devstack._config import StackConfig, find_root
from devstack._stack import Stack, StackError
from devstack._tour import Tour, TourError, TourSettings

console = Console()


def _stack(args: argparse.Namespace) -> Stack:
    root = find_root()
    config = StackConfig.load(root, var=Path(args.var).resolve() if args.var else None)
    return Stack(config, report=lambda message: console.print(f"  {message}"))


def _print_urls(stack: Stack) -> None:
    table = Table(title="The stack is up", show_header=False)
    for name, url in stack.urls():
        table.add_row(name, url)
    console.print(table)
    var = stack.config.var
    console.print(
        f"Admin password: {var / 'secrets/admin-password'}  ·  logs: {var / 'log'}  ·  "
        "traces: `uv run traces list`  ·  stop: `make down`"
    )


def up(args: argparse.Namespace) -> int:
    """Prepare and start the whole stack, then print where everything is."""
    stack = _stack(args)
    if running := stack.running():
        if len(running) == len(stack.specs()):
            console.print("The stack is already running.")
            _print_urls(stack)
            return 0
        console.print(f"Part of the stack is running ({', '.join(running)}); stopping it first.")
        stack.stop()
    console.print("Preparing: database, seed data, gateway config")
    stack.prepare()
    console.print("Starting")
    stack.start()
    _print_urls(stack)
    return 0


def down(args: argparse.Namespace) -> int:
    """Stop every process the stack started."""
    stopped = _stack(args).stop()
    console.print(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running.")
    return 0


def status(args: argparse.Namespace) -> int:
    """Show which processes of the stack are running; exit 1 when not all are."""
    stack = _stack(args)
    running = stack.running()
    table = Table("process", "pid", "url")
    for spec in stack.specs():
        pid = running.get(spec.name)
        table.add_row(spec.name, str(pid) if pid else "[red]stopped[/red]", spec.url)
    console.print(table)
    return 0 if len(running) == len(stack.specs()) else 1


def tour(args: argparse.Namespace) -> int:
    """Walk one route through every phase of the migration on the running stack."""
    stack = _stack(args)
    if len(stack.running()) != len(stack.specs()):
        console.print("[red]error:[/red] the stack is not (fully) running: `make up` first")
        return 1

    def pause() -> None:
        if args.pace:
            console.input("   [dim]Enter for the next stop[/dim] ")

    try:
        Tour(stack, console.print, TourSettings(), pause).run()
    except TourError as error:
        console.print(f"[red]the tour stopped:[/red] {error}")
        return 1
    console.print("\nEvery stop showed its evidence.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the devstack command line."""
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("--var", help="state folder (default: var/ in the repository)")
    commands = parser.add_subparsers(dest="command", required=True)
    for handler in (up, down, status, tour):
        command = commands.add_parser(handler.__name__, help=handler.__doc__)
        command.set_defaults(handler=handler)
        if handler is tour:
            command.add_argument("--pace", action="store_true", help="wait for Enter between stops")
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (StackError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
