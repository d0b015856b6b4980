"""The commands that move traffic or judge it: apply, shift, mode, promote, rollback, stats."""

import argparse
import math
from pathlib import Path

from rich.table import Table

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.nginx.process import ApplyResult, apply
from strangler_gateway.routetable import Mode, Route
from strangler_gateway.traffic.control import (
    LADDER,
    ModeChange,
    promote_route,
    rollback_route,
    set_route_mode,
)
from strangler_gateway.traffic.stats import RouteStats, format_ms, read_entries, route_stats

__all__ = [
    "apply_table",
    "mode_arguments",
    "promote",
    "rollback",
    "route_argument",
    "set_mode",
    "shift",
    "shift_arguments",
    "stats",
    "stats_arguments",
]

LADDER_TEXT = " -> ".join(str(step) for step in LADDER)


def route_argument(parser: argparse.ArgumentParser) -> None:
    """Add the ROUTE argument."""
    parser.add_argument("route", help="the route's name")


def shift_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ROUTE and PERCENT."""
    route_argument(parser)
    parser.add_argument("percent", type=int, help="share of users to send to new (0..100)")


def shift(args: argparse.Namespace, ctx: Context) -> int:
    """Put a route in canary mode with PERCENT % of users on the new upstream."""
    return _report(
        ctx, set_route_mode(ctx.routes, ctx.prefix, args.route, Mode.CANARY, args.percent)
    )


def mode_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ROUTE, MODE and --percent."""
    route_argument(parser)
    parser.add_argument("mode", help=f"one of: {', '.join(Mode)}")
    parser.add_argument(
        "--percent", type=int, help="users on new (canary) or requests mirrored (shadow)"
    )


def set_mode(args: argparse.Namespace, ctx: Context) -> int:
    """Set a route's mode (and percent, for canary and shadow)."""
    change = set_route_mode(ctx.routes, ctx.prefix, args.route, args.mode, args.percent)
    return _report(ctx, change)


def promote(args: argparse.Namespace, ctx: Context) -> int:
    """Move a route one step up the ladder."""
    return _report(ctx, promote_route(ctx.routes, ctx.prefix, args.route))


def rollback(args: argparse.Namespace, ctx: Context) -> int:
    """Send every request of a route back to legacy, now."""
    return _report(ctx, rollback_route(ctx.routes, ctx.prefix, args.route))


def apply_table(args: argparse.Namespace, ctx: Context) -> int:
    """Put the table as it is in the file (an edit by hand, a git pull) into the gateway."""
    return _report_applied(ctx, apply(ctx.routes, ctx.prefix))


def _report(ctx: Context, result: ModeChange) -> int:
    before, after = result.change.before, result.change.after
    ctx.console.print(f"{after.name}: {_describe(before)} -> {_describe(after)} ({_effect(after)})")
    return _report_applied(ctx, result.applied)


def _report_applied(ctx: Context, applied: ApplyResult) -> int:
    if applied.reloaded:
        ctx.console.print(f"gateway reloaded: config {applied.config_id} is live")
    else:
        ctx.console.print(f"no gateway running; {applied.conf} is ready for the next start")
    return Exit.OK


def _describe(route: Route) -> str:
    return f"{route.mode} {route.percent}%" if route.mode.takes_percent else str(route.mode)


def _effect(route: Route) -> str:
    if route.mode is Mode.SHADOW:
        return (
            f"users on {route.legacy}; {route.mirror_percent}% of reads compared with {route.new}"
        )
    return f"{route.new_percent}% of users to {route.new}"


def stats_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ROUTE, --window and --log."""
    route_argument(parser)
    parser.add_argument(
        "--window",
        type=_seconds,
        default=300.0,
        help="seconds of traffic to look at (default 300)",
    )
    parser.add_argument(
        "--log", type=Path, help="the gateway's JSON access log (default: <prefix>/logs/access.log)"
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return seconds


def stats(args: argparse.Namespace, ctx: Context) -> int:
    """Show requests, error rate and latency per side, and the sample-ratio-mismatch verdict."""
    route = ctx.table().route(args.route)
    log = args.log or Layout.at(ctx.prefix).access_log
    result = route_stats(read_entries(log), route, window_seconds=args.window)
    ctx.console.print(_stats_table(result, route))
    srm = result.srm
    observed = srm.observed_new_percent
    seen = "-" if observed is None else f"{observed:.1f}%"
    verdict = "MISMATCH" if srm.mismatch else "ok"
    ctx.console.print(
        f"split: configured {srm.expected_new_percent}% new, observed {seen} "
        f"({srm.legacy} legacy / {srm.new} new users); SRM {verdict}: {srm.reason}",
        markup=False,
        soft_wrap=True,
    )
    return Exit.SAMPLE_RATIO_MISMATCH if srm.mismatch else Exit.OK


def _stats_table(result: RouteStats, route: Route) -> Table:
    title = f"{route.name} ({route.mode}) over the last {result.window_seconds:g} s"
    view = Table(title=title, title_justify="left")
    for column in ("side", "requests", "errors", "error rate", "fallbacks", "p50 ms", "p99 ms"):
        view.add_column(column, justify="left" if column == "side" else "right")
    for side in result.sides:
        rate = "-" if side.error_rate is None else f"{side.error_rate:.2%}"
        view.add_row(side.side, str(side.requests), str(side.errors), rate, str(side.fallbacks),
                     format_ms(side.p50_ms), format_ms(side.p99_ms))  # fmt: skip
    return view
