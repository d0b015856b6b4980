"""The route-table commands of ``strangler``: show the table, render it, check it, serve it.

``routes``, ``render``, ``check``, ``k8s`` and ``serve`` read the table and never move traffic;
the commands that do are in ``cli.traffic``.
"""

import argparse
import os
import tempfile
from pathlib import Path

from rich.table import Table

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.cli.fault import describe_faults
from strangler_gateway.errors import GatewayError
from strangler_gateway.k8s import render_k8s
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.nginx.process import apply, check, nginx_argv, render_live
from strangler_gateway.routetable import Match, Mode, Route
from strangler_gateway.tools.faults import FaultService, read_faults

__all__ = [
    "check_config",
    "k8s",
    "k8s_arguments",
    "list_routes",
    "no_arguments",
    "render",
    "render_arguments",
    "serve",
    "serve_arguments",
]


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """Add nothing: the command takes only the global options."""
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
    ctx.console.print(f"traces: {_sampling(table.gateway.trace_sample_percent)}")
    upstreams = {upstream.name for upstream in table.upstreams}
    for service in ("rag", "core"):
        if service in upstreams:
            ctx.console.print(f"faults: {service}: {_faults_of(service, ctx)}", markup=False)
    return Exit.OK


def _sampling(percent: float) -> str:
    """Say which traces the gateway records: every request's, or its share of them."""
    if percent >= 100:
        return "every request's trace is sampled (trace_sample_percent = 100)"
    return (
        f"the gateway samples {percent:g} % of the traces it starts (trace_sample_percent); "
        "a client's own traceparent keeps its flag"
    )


def _faults_of(upstream: str, ctx: Context) -> str:
    try:
        return describe_faults(read_faults(FaultService.locate(upstream, ctx.routes, ctx.prefix)))
    except GatewayError as exc:
        return f"unknown ({exc})"


def _path(route: Route) -> str:
    return f"= {route.path}" if route.match is Match.EXACT else route.path


def render_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``render`` command's options."""
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


def k8s_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``k8s`` command's options."""
    parser.add_argument("--out", type=Path, help="write the manifests here instead of stdout")
    parser.add_argument("--namespace", default="strangler", help="namespace of the routes")
    parser.add_argument("--gateway", default="strangler-gateway", help="the parent Gateway")


def k8s(args: argparse.Namespace, ctx: Context) -> int:
    """Print (or write) the route table as Gateway API HTTPRoute and GRPCRoute objects."""
    text = render_k8s(ctx.table(), namespace=args.namespace, gateway=args.gateway)
    _emit(ctx, text, args.out)
    return Exit.OK


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` command's options."""
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
