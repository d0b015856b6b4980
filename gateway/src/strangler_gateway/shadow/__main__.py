"""Run the shadow comparator: ``python -m strangler_gateway.shadow serve [options]``.

Tracing and logging are set up first, so the comparator's httpx calls are instrumented.
"""

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from strangler_shared import configure_logging, setup_tracing

from strangler_gateway.errors import GatewayError
from strangler_gateway.shadow.app import create_app
from strangler_gateway.shadow.config import (
    ComparatorSettings,
    TargetTable,
    parse_upstream_overrides,
)
from strangler_gateway.shadow.models import ShadowError
from strangler_gateway.shadow.rules import DEFAULT_MIN_OVERLAP
from strangler_gateway.shadow.store import default_db

logger = logging.getLogger("strangler_gateway.shadow")

DEFAULT_PORT = 8090


class _StopRequested(Exception):
    """SIGTERM or SIGINT arrived; the server has already shut down gracefully."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signum)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m strangler_gateway.shadow",
        description="Compare mirrored requests between legacy and new upstreams.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve /compare for the gateway's mirror")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (%(default)s)")
    serve.add_argument(
        "--routes", type=Path, default=Path("gateway/routes.toml"), help="route table (%(default)s)"
    )
    serve.add_argument("--db", type=Path, default=default_db(), help="database (%(default)s)")
    serve.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="where an upstream's servers are (repeat per upstream, or per server)",
    )
    serve.add_argument(
        "--budget", type=_positive, default=2.0, help="seconds for one comparison (%(default)s)"
    )
    serve.add_argument("--workers", type=int, default=4, help="comparisons at once (%(default)s)")
    serve.add_argument(
        "--queue-size", type=int, default=100, help="waiting comparisons, then drop (%(default)s)"
    )
    serve.add_argument(
        "--min-overlap",
        type=float,
        default=DEFAULT_MIN_OVERLAP,
        help="share of result ids new must share with legacy (search, chat) (%(default)s)",
    )
    return parser


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _settings(args: argparse.Namespace) -> ComparatorSettings:
    if args.workers < 1 or args.queue_size < 1:
        raise ShadowError("--workers and --queue-size must be at least 1")
    if not 0 <= args.min_overlap <= 1:
        raise ShadowError("--min-overlap must be between 0 and 1")
    return ComparatorSettings(
        db=args.db,
        budget_seconds=args.budget,
        workers=args.workers,
        queue_size=args.queue_size,
        min_overlap=args.min_overlap,
    )


def serve(args: argparse.Namespace) -> int:
    """Serve the comparator until SIGINT or SIGTERM; return the exit status."""
    provider = setup_tracing("shadow")
    configure_logging("shadow")
    try:
        settings = _settings(args)
        targets = TargetTable.load(args.routes, parse_upstream_overrides(args.upstream))
    except GatewayError as error:
        logger.error("the shadow comparator cannot start: %s", error)
        return 2
    app = create_app(settings, targets)
    # uvicorn shuts down gracefully on these, then re-raises the signal to the handler it found;
    # without this one the default handler would end the process before the spans are flushed.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _raise_stop)
    try:
        # log_config=None keeps configure_logging's structured lines for uvicorn's loggers too;
        # no access log: every mirrored request would add a line, and the database has them all.
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    except _StopRequested as stop:
        logger.info("shadow comparator stopped on %s", stop)
    finally:
        if provider is not None:
            provider.shutdown()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = _parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
