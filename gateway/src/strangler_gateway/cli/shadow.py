"""``strangler shadow ROUTE``: the shadow report of a route, as tables for people.

The evidence for leaving shadow mode: the parity rate over enough comparisons, what still differs
(with the request, its user's trace and the comparison's own trace to look at) and which fields
legacy itself never answers the same way.
"""

import argparse
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from strangler_gateway.cli.command import Command, Context, Exit
from strangler_gateway.shadow.models import MISSING
from strangler_gateway.shadow.report import ExampleDiff, ShadowReport, shadow_report
from strangler_gateway.shadow.store import DB_ENV, default_db

__all__ = ["SHADOW_COMMAND", "parse_window", "show_report"]

_WINDOW = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A diff line shows this many paths; the database keeps up to rules.MAX_DIFFS.
_PATHS_SHOWN = 6


def parse_window(raw: str) -> float:
    """Return the seconds of a window like ``300``, ``90s``, ``15m``, ``2h`` or ``1d``."""
    match = _WINDOW.fullmatch(raw.strip())
    if match is None or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a window (e.g. 300, 15m, 2h, 1d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("route", help="the route's name")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help=f"the comparator's database (env {DB_ENV}; default {default_db()})",
    )
    parser.add_argument(
        "--window", type=parse_window, help="only the last 300, 15m, 2h, 1d... (default: all)"
    )


def run_shadow(args: argparse.Namespace, ctx: Context) -> int:
    """Show the parity rate, diffs and noise of ROUTE's shadow comparisons."""
    ctx.table().route(args.route)  # an unknown route is refused with the known ones listed
    db = default_db() if args.db is None else args.db
    report = shadow_report(db, args.route, window_seconds=args.window)
    show_report(report, ctx.console)
    return Exit.OK


def show_report(report: ShadowReport, console: Console) -> None:
    """Print ``report`` as a summary table, the noisy fields and the example diffs."""
    console.print(_summary(report))
    if report.noise:
        console.print(_noise(report))
    if report.examples:
        # Upstream text, printed as is: never read as rich markup, never highlighted.
        console.print(_examples(report), markup=False, highlight=False)


def _summary(report: ShadowReport) -> Table:
    window = "all time" if report.window_seconds is None else f"last {report.window_seconds:g} s"
    view = Table(title=f"shadow: {report.route} ({window})", title_justify="left")
    for column in ("compared", "parity", "matches", "diffs", "timeouts", "errors", "dropped"):
        view.add_column(column, justify="right")
    parity = report.parity_rate
    view.add_row(
        str(report.compared),
        "-" if parity is None else f"{parity:.1%}",
        str(report.matches),
        str(report.diffs),
        str(report.timeouts),
        str(report.errors),
        str(report.dropped),
    )
    return view


def _noise(report: ShadowReport) -> Table:
    view = Table(title="ignored as legacy noise", title_justify="left")
    view.add_column("path")
    view.add_column("comparisons", justify="right")
    for path, count in report.noise:
        view.add_row(escape(path), str(count))
    return view


def _examples(report: ShadowReport) -> str:
    lines = ["recent diffs"]
    for example in report.examples:
        stamp = datetime.fromtimestamp(example.time, UTC).strftime("%Y-%m-%d %H:%M:%S")
        status = f"{_text(example.legacy_status)} -> {_text(example.new_status)}"
        overlap = "" if example.overlap is None else f"  overlap {example.overlap:.2f}"
        lines.append(f"  {stamp}  {example.method} {example.uri}  {status}{overlap}")
        lines.extend(f"      {line}" for line in _differs(example))
        user = example.trace_id or "-"
        lines.append(f"      trace {user}, comparison trace {example.shadow_trace_id or '-'}")
    return "\n".join(lines)


def _differs(example: ExampleDiff) -> list[str]:
    lines = [
        f"{diff.path}: {_value(diff.legacy)} -> {_value(diff.new)}"
        for diff in example.diffs[:_PATHS_SHOWN]
    ]
    if len(example.diffs) > _PATHS_SHOWN:
        lines.append(f"... {len(example.diffs) - _PATHS_SHOWN} more")
    return lines


def _value(value: Any) -> str:
    return "(missing)" if value is MISSING else json.dumps(value, ensure_ascii=False)


def _text(value: int | None) -> str:
    return "-" if value is None else str(value)


SHADOW_COMMAND = Command(
    "shadow",
    "show how often a route's new upstream answered like legacy (shadow mode)",
    _arguments,
    run_shadow,
)
