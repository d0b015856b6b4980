"""Run the migration console: ``python -m strangler_gateway.console serve [options]``."""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from strangler_shared import InvalidSecretError, configure_logging, load_service_token
from strangler_shared.identity import load_identity_secret

from strangler_gateway.console.app import create_app
from strangler_gateway.console.settings import ConsoleSettings
from strangler_gateway.shadow.store import default_db

logger = logging.getLogger("strangler_gateway.console")

DEFAULT_PORT = 8091


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m strangler_gateway.console",
        description="Serve the migration console the gateway routes at /console/.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the console")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (%(default)s)")
    serve.add_argument(
        "--routes", type=Path, default=Path("gateway/routes.toml"), help="route table (%(default)s)"
    )
    serve.add_argument(
        "--prefix",
        type=Path,
        default=Path("var/nginx"),
        help="gateway's nginx prefix (%(default)s)",
    )
    serve.add_argument("--shadow-db", type=Path, default=default_db(), help="shadow database")
    serve.add_argument(
        "--faults",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a service whose /internal/faults the overview shows (repeatable)",
    )
    serve.add_argument(
        "--staff-to-read",
        action="store_true",
        help="production: reading needs a signed-in staff user too",
    )
    return parser


def _sources(pairs: list[str]) -> dict[str, str]:
    sources: dict[str, str] = {}
    for pair in pairs:
        name, _, url = pair.partition("=")
        if not name or not url.startswith("http"):
            raise SystemExit(f"--faults takes NAME=URL (got {pair!r})")
        sources[name] = url.rstrip("/")
    return sources


def serve(args: argparse.Namespace) -> int:
    """Serve the console until stopped; return the exit status."""
    configure_logging("console")
    try:
        secret = load_identity_secret()
    except InvalidSecretError as error:
        logger.error("the console cannot verify sign-ins: %s", error)
        return 2
    settings = ConsoleSettings(
        routes=args.routes,
        prefix=args.prefix,
        shadow_db=args.shadow_db,
        identity_secret=secret,
        staff_to_read=args.staff_to_read,
        fault_sources=_sources(args.faults),
        service_token=load_service_token() if args.faults else "",
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    return serve(_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
