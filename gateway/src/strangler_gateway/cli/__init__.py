"""The ``strangler`` command line: one module per command group.

- ``main``: the parser and ``main`` (the console script), refusals as one line on stderr.
- ``command``: what a command is (``Command``, ``Context``) and the exit codes (``Exit``).
- ``registry``: the list of commands; a new command is a function and an entry there.
- ``routes``: commands that read the route table: ``routes``, ``render``, ``check``, ``k8s``,
  ``serve``.
- ``traffic``: commands that move or judge traffic: ``apply``, ``shift``, ``mode``, ``promote``,
  ``rollback``, ``stats``.
- ``shadow``: ``strangler shadow ROUTE``, the shadow comparator's report.
"""

from strangler_gateway.cli.command import Command, Context, Exit
from strangler_gateway.cli.main import build_parser, main

__all__ = ["Command", "Context", "Exit", "build_parser", "main"]
