"""What every ``strangler`` command is: a name, its arguments, a function, and the exit codes."""

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from rich.console import Console

from strangler_gateway.routetable import RouteTable, load_route_table

__all__ = ["Command", "Context", "Exit"]


class Exit(IntEnum):
    """The exit codes of ``strangler``: scripts and rollouts branch on them."""

    OK = 0
    # The change or question was refused (invalid table, nginx said no, unknown route...).
    REFUSED = 1
    # The command line itself was wrong (argparse's own code).
    USAGE = 2
    # `stats` found a sample ratio mismatch: the split is broken, do not trust the comparison.
    SAMPLE_RATIO_MISMATCH = 3


@dataclass(frozen=True)
class Context:
    """What every command works on: the route table, the gateway's prefix, the output."""

    routes: Path
    prefix: Path
    console: Console

    def table(self) -> RouteTable:
        """Load and validate the route table."""
        return load_route_table(self.routes)


@dataclass(frozen=True)
class Command:
    """One sub-command: its name, help line, arguments and implementation."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], int]
