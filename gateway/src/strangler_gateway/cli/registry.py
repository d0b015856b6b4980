"""Which commands ``strangler`` has: one ``Command`` entry each, in the order help lists them.

A new command is a function in the module of its group (``routes``, ``traffic``, ``shadow``...)
and an entry here.
"""

from strangler_gateway.cli.command import Command
from strangler_gateway.cli.routes import (
    check_config,
    k8s,
    k8s_arguments,
    list_routes,
    no_arguments,
    render,
    render_arguments,
    serve,
    serve_arguments,
)
from strangler_gateway.cli.shadow import SHADOW_COMMAND
from strangler_gateway.cli.traffic import (
    LADDER_TEXT,
    apply_table,
    mode_arguments,
    promote,
    rollback,
    route_argument,
    set_mode,
    shift,
    shift_arguments,
    stats,
    stats_arguments,
)

__all__ = ["COMMANDS", "all_commands"]

COMMANDS: list[Command] = [
    Command("routes", "show the route table", no_arguments, list_routes),
    Command("render", "print the nginx config rendered from the table", render_arguments, render),
    Command("check", "render the table and run nginx -t on it", no_arguments, check_config),
    Command(
        "apply",
        "validate the table as edited, check it with nginx -t and reload the gateway with it",
        no_arguments,
        apply_table,
    ),
    Command("shift", "send PERCENT percent of a route's users to new", shift_arguments, shift),
    Command("mode", "set a route's mode", mode_arguments, set_mode),
    Command("promote", f"move a route one step up: {LADDER_TEXT}", route_argument, promote),
    Command(
        "rollback", "send every request of a route back to legacy, now", route_argument, rollback
    ),
    Command(
        "stats",
        "requests, error rate and latency per side, with the sample-ratio-mismatch check",
        stats_arguments,
        stats,
    ),
    Command("k8s", "render the table as Gateway API HTTPRoutes", k8s_arguments, k8s),
    Command(
        "serve",
        "render for given addresses and run nginx in the foreground",
        serve_arguments,
        serve,
    ),
]


def all_commands() -> list[Command]:
    """Return every command of ``strangler``, in the order ``--help`` lists them."""
    return [*COMMANDS, SHADOW_COMMAND]
