"""The commands of ``strangler``: each a function of the parsed arguments and a Context.

Kept apart from the parser so that a new command is a function and a ``Command`` entry; the
traffic commands live in ``_traffic_commands``. Optional parts of the package bring their own
commands (``strangler shadow``, from the shadow comparator) through ``all_commands``.
"""

import argparse
import importlib
import importlib.util
import os
import tempfile
from pathlib import Path

from rich.table import Table

from strangler_gateway._command import Command, Context, Exit
from strangler_gateway._traffic_commands import (
    LADDER_TEXT,
    apply_table,
    mode_arguments,
    promote,
    rollback,
    route_argument,
    set_mode,
    shift,
    shift_arguments,
    stats,
    stats_arguments,
)
from strangler_gateway.errors import GatewayError
from strangler_gateway.k8s import render_k8s
from strangler_gateway.layout import Layout
from strangler_gateway.nginx import apply, check, nginx_argv, render_live
from strangler_gateway.routes import Match, Mode, Route

__all__ = ["COMMANDS", "Command", "Context", "Exit", "all_commands"]

# Optional commands: (module, attribute), wired in when the module is installed.
_OPTIONAL = (("strangler_gateway.shadow.command", "SHADOW_COMMAND"),)


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


def list_routes(args: argparse.Namespace, ctx: Context) -> int:
    """Show every route, its mode and where its traffic goes."""
    table = ctx.table()
    view = Table(title=f"routes ({ctx.routes})", title_justify="left")
    for column in ("name", "path", "mode", "new", "mirrored", "legacy", "new upstream"):
        view.add_column(column, justify="right" if column in ("new", "mirrored") else "left")
    for route in table.routes:
        mirrored = f"{route.mirror_percent}%" if route.mode is Mode.SHADOW else "-"
        view.add_row(route.name, _path(route), str(route.mode), f"{route.new_percent}%",
                     mirrored, route.legacy, route.new)  # fmt: skip
    view.add_row("catch-all", "/", str(Mode.LEGACY), "0%", "-", table.gateway.catch_all, "-")
    ctx.console.print(view)
    if table.grpc:
        grpc = Table(title=f"gRPC on {table.gateway.grpc_listen}", title_justify="left")
        for column in ("name", "services", "upstream"):
            grpc.add_column(column)
        for entry in table.grpc:
            grpc.add_row(entry.name, "\n".join(entry.services), entry.upstream)
        ctx.console.print(grpc)
    return Exit.OK


def _path(route: Route) -> str:
    return f"= {route.path}" if route.match is Match.EXACT else route.path


def _render_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="write the config here instead of stdout")


def render(args: argparse.Namespace, ctx: Context) -> int:
    """Print (or write) the nginx config the route table renders to."""
    text, _ = render_live(ctx.routes, ctx.prefix)
    _emit(ctx, text, args.out)
    return Exit.OK


def _emit(ctx: Context, text: str, out: Path | None) -> None:
    if out is None:
        ctx.console.out(text, end="", highlight=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        ctx.console.print(f"wrote {out}")


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
    return Exit.OK


def _k8s_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="write the manifests here instead of stdout")
    parser.add_argument("--namespace", default="strangler", help="namespace of the routes")
    parser.add_argument("--gateway", default="strangler-gateway", help="the parent Gateway")


def k8s(args: argparse.Namespace, ctx: Context) -> int:
    """Print (or write) the route table as Gateway API HTTPRoute and GRPCRoute objects."""
    text = render_k8s(ctx.table(), namespace=args.namespace, gateway=args.gateway)
    _emit(ctx, text, args.out)
    return Exit.OK


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", help="address to listen on, e.g. 0.0.0.0:8080")
    parser.add_argument("--grpc-listen", help="address of the gRPC listener, e.g. 0.0.0.0:9090")
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
    result = apply(
        ctx.routes,
        ctx.prefix,
        _overrides(args.upstream) or None,
        listen=args.listen,
        grpc_listen=args.grpc_listen,
    )
    ctx.console.print(f"config {result.conf} checked; starting nginx")
    argv = nginx_argv(ctx.prefix)
    os.execv(argv[0], argv)  # noqa: S606 - the argv is ours, no shell involved
    return Exit.REFUSED  # not reached: execv replaces the process


COMMANDS: list[Command] = [
    Command("routes", "show the route table", _no_arguments, list_routes),
    Command("render", "print the nginx config rendered from the table", _render_arguments, render),
    Command("check", "render the table and run nginx -t on it", _no_arguments, check_config),
    Command(
        "apply",
        "validate the table as edited, check it with nginx -t and reload the gateway with it",
        _no_arguments,
        apply_table,
    ),
    Command("shift", "send PERCENT percent of a route's users to new", shift_arguments, shift),
    Command("mode", "set a route's mode", mode_arguments, set_mode),
    Command("promote", f"move a route one step up: {LADDER_TEXT}", route_argument, promote),
    Command(
        "rollback", "send every request of a route back to legacy, now", route_argument, rollback
    ),
    Command(
        "stats",
        "requests, error rate and latency per side, with the sample-ratio-mismatch check",
        stats_arguments,
        stats,
    ),
    Command("k8s", "render the table as Gateway API HTTPRoutes", _k8s_arguments, k8s),
    Command(
        "serve",
        "render for given addresses and run nginx in the foreground",
        _serve_arguments,
        serve,
    ),
]


def all_commands() -> list[Command]:
    """Return the gateway's commands and those of the optional parts that are installed."""
    commands = list(COMMANDS)
    for module, attribute in _OPTIONAL:
        if importlib.util.find_spec(module) is not None:
            commands.append(getattr(importlib.import_module(module), attribute))
    return commands
