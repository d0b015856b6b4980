"""Run the reflection server: ``python -m strangler_gateway.reflection serve [options]``.

It reads the route table once, at start: a change to its ``[[grpc]]`` entries is a restart.
"""

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from strangler_shared import configure_logging

from strangler_gateway.errors import GatewayError
from strangler_gateway.reflection.catalog import (
    UnknownServiceError,
    contract_pool,
    routed_services,
)
from strangler_gateway.reflection.server import serve_reflection
from strangler_gateway.routetable import load_route_table

logger = logging.getLogger("strangler_gateway.reflection")

DEFAULT_LISTEN = "127.0.0.1:50053"
# Streams still open at shutdown get this long to finish.
_GRACE_SECONDS = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m strangler_gateway.reflection",
        description="Serve gRPC reflection for every service the route table routes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve reflection behind the gateway")
    serve.add_argument("--listen", default=DEFAULT_LISTEN, help="host:port (%(default)s)")
    serve.add_argument(
        "--routes", type=Path, default=Path("gateway/routes.toml"), help="route table (%(default)s)"
    )
    serve.add_argument(
        "--max-streams", type=int, default=8, help="reflection streams at once (%(default)s)"
    )
    serve.add_argument(
        "--max-stream-seconds",
        type=float,
        default=300.0,
        help="one stream's lifetime (%(default)s)",
    )
    return parser


def serve(args: argparse.Namespace) -> int:
    """Serve reflection until SIGINT or SIGTERM; return the exit status."""
    configure_logging("reflection")
    if args.max_streams < 1 or args.max_stream_seconds <= 0:
        logger.error("--max-streams must be at least 1 and --max-stream-seconds more than 0")
        return 2
    try:
        services = routed_services(load_route_table(args.routes))
        pool = contract_pool(services)
    except (GatewayError, UnknownServiceError) as error:
        logger.error("the reflection server cannot start: %s", error)
        return 2
    try:
        running = serve_reflection(
            args.listen,
            services,
            pool,
            max_streams=args.max_streams,
            max_stream_seconds=args.max_stream_seconds,
        )
    except RuntimeError as error:
        logger.error("the reflection server cannot listen on %s: %s", args.listen, error)
        return 2
    stop = threading.Event()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda signum, frame: stop.set())
    stop.wait()
    running.server.stop(_GRACE_SECONDS).wait()
    logger.info("reflection server stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    return serve(_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
