"""The commands of ``strangler``: each a function of the parsed arguments and a Context.

Kept apart from the parser so that the next ones (promote, rollback, stats) are a function and a
``Command`` entry each, with the shared pieces (load the table, change a route) already here.
"""

import argparse
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from strangler_gateway.control import set_route_mode
from strangler_gateway.errors import GatewayError
from strangler_gateway.layout import Layout
from strangler_gateway.nginx import apply, check, nginx_argv, render_live
from strangler_gateway.routes import Match, Mode, Route, RouteTable, load_route_table

__all__ = ["COMMANDS", "Command", "Context"]


@dataclass(frozen=True)
class Context:
    """What every command works on: the route table, the gateway's prefix, the output."""

    routes: Path
    prefix: Path
    console: Console

    def table(self) -> RouteTable:
        """Load and validate the route table."""
        return load_route_table(self.routes)


@dataclass(frozen=True)
class Command:
    """One sub-command: its name, help line, arguments and implementation."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


def list_routes(args: argparse.Namespace, ctx: Context) -> int:
    """Show every route, its mode and where its traffic goes."""
    table = ctx.table()
    view = Table(title=f"routes ({ctx.routes})", title_justify="left")
    for column in ("name", "path", "mode", "percent", "legacy", "new"):
        view.add_column(column, justify="right" if column == "percent" else "left")
    for route in table.routes:
        view.add_row(
            route.name,
            _path(route),
            str(route.mode),
            f"{route.new_percent}%",
            route.legacy,
            route.new,
        )
    view.add_row("catch-all", "/", str(Mode.LEGACY), "0%", table.gateway.catch_all, "-")
    ctx.console.print(view)
    return 0


def _path(route: Route) -> str:
    return f"= {route.path}" if route.match is Match.EXACT else route.path


def _render_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="write the config here instead of stdout")


def render(args: argparse.Namespace, ctx: Context) -> int:
    """Print (or write) the nginx config the route table renders to."""
    text, _ = render_live(ctx.routes, ctx.prefix)
    if args.out is None:
        ctx.console.out(text, end="", highlight=False)
    else:
        args.out.write_text(text, encoding="utf-8")
        ctx.console.print(f"wrote {args.out}")
    return 0


def check_config(args: argparse.Namespace, ctx: Context) -> int:
    """Render the route table and run ``nginx -t`` on the result."""
    text, _ = render_live(ctx.routes, ctx.prefix)
    layout = Layout.at(ctx.prefix)
    layout.create()
    with tempfile.NamedTemporaryFile(
        "w", dir=layout.conf.parent, prefix=".check.", suffix=".conf", encoding="utf-8"
    ) as candidate:
        candidate.write(text)
        candidate.flush()
        check(Path(candidate.name), prefix=layout.prefix)
    ctx.console.print(f"ok: {ctx.routes} renders a config nginx accepts")
    return 0


def _shift_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("route", help="the route's name")
    parser.add_argument("percent", type=int, help="share of users to send to new (0..100)")


def shift(args: argparse.Namespace, ctx: Context) -> int:
    """Put a route in canary mode with PERCENT % of users on the new upstream."""
    return _change(ctx, args.route, str(Mode.CANARY), args.percent)


def _mode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("route", help="the route's name")
    parser.add_argument("mode", help=f"one of: {', '.join(Mode)}")
    parser.add_argument("--percent", type=int, help="share of users on new (canary only)")


def set_mode(args: argparse.Namespace, ctx: Context) -> int:
    """Set a route's mode (and percent, for canary)."""
    return _change(ctx, args.route, args.mode, args.percent)


def _change(ctx: Context, route: str, mode: str, percent: int | None) -> int:
    result = set_route_mode(ctx.routes, ctx.prefix, route, mode, percent)
    before, after = result.change.before, result.change.after
    ctx.console.print(
        f"{after.name}: {_describe(before)} -> {_describe(after)} "
        f"({after.new_percent}% of users to {after.new})"
    )
    if result.applied.reloaded:
        ctx.console.print(f"gateway reloaded: config {result.config_id} is live")
    else:
        ctx.console.print(f"no gateway running; {result.applied.conf} is ready for the next start")
    return 0


def _describe(route: Route) -> str:
    return f"{route.mode} {route.percent}%" if route.mode is Mode.CANARY else str(route.mode)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", help="address to listen on, e.g. 0.0.0.0:8080")
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="where an upstream's servers are (repeat per upstream, or per server)",
    )


def _overrides(pairs: list[str]) -> dict[str, list[str]]:
    overrides: dict[str, list[str]] = {}
    for pair in pairs:
        name, _, server = pair.partition("=")
        if not name or not server:
            raise GatewayError(f"--upstream {pair!r}: expected NAME=HOST:PORT")
        overrides.setdefault(name, []).append(server)
    return overrides


def serve(args: argparse.Namespace, ctx: Context) -> int:
    """Render and check the table for these addresses, then become nginx (for containers)."""
    result = apply(ctx.routes, ctx.prefix, _overrides(args.upstream) or None, listen=args.listen)
    ctx.console.print(f"config {result.conf} checked; starting nginx")
    argv = nginx_argv(ctx.prefix)
    os.execv(argv[0], argv)  # noqa: S606 - the argv is ours, no shell involved
    return 1  # not reached: execv replaces the process


COMMANDS: list[Command] = [
    Command("routes", "show the route table", _no_arguments, list_routes),
    Command("render", "print the nginx config rendered from the table", _render_arguments, render),
    Command("check", "render the table and run nginx -t on it", _no_arguments, check_config),
    Command("shift", "send PERCENT percent of a route's users to new", _shift_arguments, shift),
    Command("mode", "set a route's mode", _mode_arguments, set_mode),
    Command(
        "serve",
        "render for given addresses and run nginx in the foreground",
        _serve_arguments,
        serve,
    ),
]
