"""The `traces` command: run the store, list recent traces, show one trace as a timeline or tree.

Environment:
    TRACES_DB: the SQLite file used when --db is not given (default var/data/traces.sqlite3,
        relative to the current directory).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn
from rich.console import Console

from tracestore.app import create_app
from tracestore.models import TraceFilter
from tracestore.retention import DEFAULT_MAX_AGE_SECONDS, DEFAULT_MAX_BYTES, Retention
from tracestore.store import TraceStore
from tracestore.terminal.timeline import MIN_BAR_CELLS, trace_timeline
from tracestore.terminal.traces import trace_tree, traces_table
from tracestore.timeline import build_timeline, routing_decision
from tracestore.tree import build_tree

DEFAULT_DB = "var/data/traces.sqlite3"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
_TRACE_ID_PREFIX = re.compile(r"[0-9a-f]{1,32}")

Handler = Callable[[argparse.Namespace, Console, Console], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `traces` command line and return its exit status."""
    args = _parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args, Console(), Console(stderr=True, soft_wrap=True))


def _parser() -> argparse.ArgumentParser:
    db_option = argparse.ArgumentParser(add_help=False)
    db_option.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("TRACES_DB") or DEFAULT_DB),
        help="SQLite file of the store (default: $TRACES_DB or %(default)s)",
    )
    parser = argparse.ArgumentParser(prog="traces", description="The local trace store.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[db_option], help="run the OTLP/HTTP receiver")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (%(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (%(default)s)")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (%(default)s)")
    serve.add_argument(
        "--gateway-log",
        type=Path,
        help="the gateway's JSON access log to follow: one gateway span per request",
    )
    serve.add_argument(
        "--forward-gateway-spans",
        metavar="URL",
        help="also export the gateway's spans to this OTLP/HTTP traces URL (e.g. a collector's)",
    )
    serve.add_argument(
        "--max-age-hours",
        type=_positive_float,
        default=DEFAULT_MAX_AGE_SECONDS / 3600,
        help="drop traces older than this (default %(default)g hours)",
    )
    serve.add_argument(
        "--max-size-mb",
        type=_positive_float,
        default=DEFAULT_MAX_BYTES / 1_000_000,
        help="drop the oldest traces while the spans take more (default %(default)g MB)",
    )
    serve.set_defaults(handler=serve_command)

    listing = commands.add_parser("list", parents=[db_option], help="list recent traces")
    listing.add_argument("--limit", type=_positive_int, default=20, help="traces (%(default)s)")
    listing.add_argument("--service", help="only traces with a span from this service")
    listing.add_argument("--route", help="only traces the gateway routed by this route")
    listing.add_argument("--status", choices=["ok", "error"], help="ok: no error span; error: one")
    listing.add_argument("--min-ms", type=float, help="only traces lasting at least this long")
    listing.set_defaults(handler=list_command)

    show = commands.add_parser("show", parents=[db_option], help="show one trace as a timeline")
    show.add_argument("trace_id", help="a trace id, or a unique prefix of one")
    show.add_argument(
        "--tree", action="store_true", help="show the span tree with key attributes instead"
    )
    show.set_defaults(handler=show_command)
    return parser


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def serve_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Serve the receiver until interrupted, storing spans in the --db file."""
    if args.forward_gateway_spans and args.gateway_log is None:
        err.print("--forward-gateway-spans needs --gateway-log: the spans come from that log.")
        return 2
    db: Path = args.db
    db.parent.mkdir(parents=True, exist_ok=True)
    with TraceStore(db) as store:
        retention = Retention(
            max_age_seconds=args.max_age_hours * 3600, max_bytes=int(args.max_size_mb * 1_000_000)
        )
        app = create_app(store, args.gateway_log, args.forward_gateway_spans, retention)
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def list_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Print the table of recent traces."""
    store = _open_existing(args.db, err)
    if store is None:
        return 1
    filters = TraceFilter(
        service=args.service,
        route=args.route,
        error=None if args.status is None else args.status == "error",
        min_duration_ms=args.min_ms,
    )
    with store:
        summaries = store.recent_traces(args.limit, filters)
    if not summaries:
        scope = " matching the filters" if filters != TraceFilter() else ""
        out.print(f"No traces{scope} in {args.db}.")
        return 0
    out.print(traces_table(summaries))
    return 0


def show_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Print one trace as a timeline (or, with --tree, as an indented tree of spans)."""
    prefix = args.trace_id.strip().lower()
    if not _TRACE_ID_PREFIX.fullmatch(prefix):
        err.print(f"{args.trace_id!r} is not a trace id: expected up to 32 hex digits.")
        return 1
    store = _open_existing(args.db, err)
    if store is None:
        return 1
    with store:
        matches = store.trace_ids_with_prefix(prefix)
        spans = store.spans(matches[0]) if len(matches) == 1 else []
    if not matches:
        err.print(f"No trace with id {prefix} in {args.db}.")
        return 1
    if len(matches) > 1:
        err.print(f"Trace id prefix {prefix} is ambiguous; give more digits.")
        return 1
    if args.tree:
        out.print(trace_tree(matches[0], build_tree(spans)))
        return 0
    bar_width = max(out.width // 3, MIN_BAR_CELLS)
    timeline = build_timeline(matches[0], spans)
    out.print(trace_timeline(timeline, routing_decision(spans), bar_width))
    return 0


def _open_existing(db: Path, err: Console) -> TraceStore | None:
    """Open the store for reading, or explain that there is none at that path."""
    if not db.is_file():
        err.print(f"No trace database at {db}. Start the store with `traces serve --db {db}`.")
        return None
    return TraceStore(db)
