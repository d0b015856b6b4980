"""``strangler rollout start|status|abort|resume ROUTE``: a progressive rollout judged on evidence.

``start`` runs the controller in the foreground until the route is migrated (exit 0), a step
failed (exit 4: rolled back, or held with ``--on-failure hold``; also when a manual change or an
abort stopped it) or the rollout stalled for lack of evidence (exit 5). ``status`` renders the
ledger; ``abort`` sends the route back to legacy and stops a running controller; ``resume``
continues after the last passed step.
"""

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.shadow.store import DB_ENV, default_db
from strangler_gateway.traffic.rollout import (
    Controller,
    RolloutFiles,
    RolloutResult,
    RolloutState,
    Settings,
    abort_rollout,
    load_plan,
    read_ledger,
)

__all__ = ["rollout", "rollout_arguments"]

_EXITS = {"completed": Exit.OK, "failed": Exit.ROLLOUT_FAILED, "stopped": Exit.ROLLOUT_FAILED,
          "stalled": Exit.ROLLOUT_STALLED}  # fmt: skip


def rollout_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the actions start, status, abort and resume, each with ROUTE."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="walk ROUTE through its plan, judging each step")
    start.add_argument("route", help="the route's name")
    start.add_argument("--steps", type=_percents, help="canary percents, e.g. 1,5,25,50")
    start.add_argument("--no-shadow", action="store_true", help="skip the shadow (parity) step")
    start.add_argument("--shadow-percent", type=int, help="share of reads mirrored in shadow")
    start.add_argument("--interval", type=float, help="seconds between judgements")
    start.add_argument("--min-requests", type=int, help="requests needed on each side")
    start.add_argument("--min-users", type=int, help="users needed on each side")
    start.add_argument("--min-comparisons", type=int, help="shadow comparisons needed")
    start.add_argument("--deadline", type=int, help="intervals an inconclusive step may last")
    start.add_argument("--on-failure", choices=("rollback", "hold"), help="default rollback")
    _sources(start)
    for name, text in (("status", "show ROUTE's rollout ledger"),
                       ("abort", "stop ROUTE's rollout and send the route back to legacy"),
                       ("resume", "continue ROUTE's stopped or crashed rollout")):  # fmt: skip
        action = actions.add_parser(name, help=text)
        action.add_argument("route", help="the route's name")
        if name == "resume":
            _sources(action)


def _sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log", type=Path, help="the access log (default <prefix>/logs/access.log)"
    )
    parser.add_argument("--db", type=Path, help=f"the comparator's database (env {DB_ENV})")


def _percents(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected percents like 1,5,25,50, got {text!r}"
        ) from None


def rollout(args: argparse.Namespace, ctx: Context) -> int:
    """Run one rollout action."""
    ctx.table().route(args.route)  # an unknown route is refused with the known ones listed
    if args.action == "status":
        return _status(args.route, ctx)
    if args.action == "abort":
        change = abort_rollout(ctx.routes, ctx.prefix, args.route)
        ctx.console.print(
            f"{args.route}: rollout aborted; back on legacy (config {change.config_id})"
        )
        return Exit.OK
    controller = Controller(_settings(args, ctx), args.route)
    if args.action == "resume":
        return _report(ctx, controller.resume())
    overrides: dict[str, Any] = {
        "steps": args.steps, "shadow": False if args.no_shadow else None,
        "shadow_percent": args.shadow_percent, "interval_seconds": args.interval,
        "min_requests": args.min_requests, "min_users": args.min_users,
        "min_comparisons": args.min_comparisons, "deadline_intervals": args.deadline,
        "on_failure": args.on_failure,
    }  # fmt: skip
    return _report(ctx, controller.start(load_plan(ctx.routes, args.route, overrides)))


def _settings(args: argparse.Namespace, ctx: Context) -> Settings:
    log = args.log or Layout.at(ctx.prefix).access_log
    db = args.db or default_db()

    def say(line: str) -> None:
        ctx.console.print(line, markup=False, soft_wrap=True)

    return Settings(ctx.routes, ctx.prefix, log, db, say=say)


def _report(ctx: Context, result: RolloutResult) -> int:
    ctx.console.print(f"rollout {result.result}", markup=False)
    return _EXITS[result.result]


def _status(route: str, ctx: Context) -> int:
    files = RolloutFiles.of(ctx.prefix, route)
    state = RolloutState.read(files)
    if state is None:
        raise GatewayError(f"'{route}' has never been rolled out")
    entries = [e for e in read_ledger(files.ledger) if e.get("rollout_id") == state.rollout_id]
    view = Table(
        title=f"rollout {state.rollout_id} of {route}: {state.status}", title_justify="left"
    )
    for column in ("time", "event", "step", "outcome", "legacy req/err/p99", "new req/err/p99",
                   "gates", "reason"):  # fmt: skip
        view.add_column(column)
    for entry in entries:
        view.add_row(*_row(entry))
    ctx.console.print(view, markup=False)
    return Exit.OK


def _row(entry: dict[str, Any]) -> list[str]:
    step = entry.get("step") or {}
    kind = step.get("kind", "")
    label = f"{step.get('index', 0) + 1}: {kind} {step.get('weight')}%" if step else "-"
    sides = entry.get("sides") or {}
    gates = " ".join(f"{g['name']}={g['verdict']}" for g in entry.get("gates") or [])
    return [str(entry.get("time", ""))[11:19], str(entry.get("event")), label,
            str(entry.get("outcome") or "-"), _side(sides.get("legacy")), _side(sides.get("new")),
            gates or "-", str(entry.get("reason", ""))]  # fmt: skip


def _side(side: dict[str, Any] | None) -> str:
    if not side:
        return "-"
    p99 = "-" if side.get("p99_ms") is None else f"{side['p99_ms']:.0f}ms"
    return f"{side['requests']}/{side['errors']}/{p99}"
