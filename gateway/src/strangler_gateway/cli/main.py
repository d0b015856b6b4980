"""The ``strangler`` command: inspect the route table and move traffic, one checked step at a time.

Every command that changes traffic goes through the same path (edit routes.toml, render,
``nginx -t``, atomic swap, graceful reload), and a refusal is one line on stderr with a non-zero
exit, never a traceback. Commands are entries in ``registry.COMMANDS``; a new one is a function and
an entry there. Exit codes (``command.Exit``): 0 ok, 1 refused (the message says why), 2 a wrong
command line, 3 ``stats`` found a sample ratio mismatch.
"""

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.cli.registry import all_commands
from strangler_gateway.errors import GatewayError

__all__ = ["build_parser", "main"]

# STRANGLER_ROUTES: the route table to read and edit (default: <repo>/gateway/routes.toml).
ROUTES_ENV = "STRANGLER_ROUTES"
# STRANGLER_GATEWAY_PREFIX: the nginx prefix of the gateway to render for and reload
# (default: <repo>/var/nginx, where the local runner keeps it).
PREFIX_ENV = "STRANGLER_GATEWAY_PREFIX"
_TABLE = Path("gateway") / "routes.toml"


def _repository_root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / _TABLE).is_file():
            return folder
    return here


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command."""
    root = _repository_root()
    parser = argparse.ArgumentParser(
        prog="strangler",
        description="Inspect the route table and move traffic from the monolith, step by step.",
        epilog="exit codes: 0 ok, 1 refused (the message says why), 2 wrong command line, "
        "3 sample ratio mismatch (stats)",
    )
    parser.add_argument(
        "--routes",
        type=Path,
        default=Path(os.environ.get(ROUTES_ENV, root / _TABLE)),
        help=f"the route table (env {ROUTES_ENV}; default %(default)s)",
    )
    parser.add_argument(
        "--prefix",
        type=Path,
        default=Path(os.environ.get(PREFIX_ENV, root / "var" / "nginx")),
        help=f"the gateway's nginx prefix (env {PREFIX_ENV}; default %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in all_commands():
        # argparse %-formats help strings: a literal percent sign must be doubled.
        escaped = command.help.replace("%", "%%")
        sub = commands.add_parser(command.name, help=escaped, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    context = Context(routes=args.routes, prefix=args.prefix, console=Console(highlight=False))
    try:
        status: int = args.run(args, context)
    except GatewayError as exc:
        return _refuse(str(exc))
    except OSError as exc:
        # A file the command must read or write (an --out path, the table, the prefix) is not
        # usable: the operator's to fix, so a line that names it, not a traceback.
        return _refuse(f"{exc.strerror or exc}: {exc.filename or ''}")
    return status


def _refuse(message: str) -> int:
    line = " ".join(message.split())
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"strangler: {line}", markup=False)
    return Exit.REFUSED
