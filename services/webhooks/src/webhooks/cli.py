"""``python -m webhooks outbox``: look into the outbox and send dead letters back to the relay.

``outbox status`` prints how many events are pending, delivered and failed, how long the oldest
pending one has waited, the relays' circuit, the figures per status and source with the ages of
the oldest and newest event, and the latest dead letters with their last error.
``outbox dead-letters`` lists the dead letters with their errors. ``outbox retry [EVENT_ID ...]``
makes the failed events (all, or those named) pending again; a running relay delivers them within
a second. The outbox file is ``--path``, else ``WEBHOOKS_OUTBOX_PATH`` as for the server.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import Config

from webhooks.config import DEFAULTS, ENV_PREFIX, ConfigError, load_outbox_settings
from webhooks.outbox import FailedEvent, Outbox, OutboxSummary, OutboxUnavailableError, Status

Handler = Callable[[Outbox, argparse.Namespace], int]
_SHOWN_FAILURES = 20


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = _parser().parse_args(argv)
    try:
        outbox = Outbox(args.path or _configured_path())
        if not outbox.path.is_file():
            raise OutboxUnavailableError(f"no outbox at {outbox.path}")
        handler: Handler = args.handler
        return handler(outbox, args)
    except (ConfigError, OutboxUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webhooks", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    outbox = commands.add_parser("outbox", help="inspect the outbox or retry its dead letters")
    outbox.add_argument("--path", type=Path, help="the outbox file (default $WEBHOOKS_OUTBOX_PATH)")
    actions = outbox.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="count events by status, list the failed ones")
    status.set_defaults(handler=show_status)
    dead = actions.add_parser("dead-letters", help="list the failed events with their errors")
    dead.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    dead.set_defaults(handler=list_dead_letters)
    retry = actions.add_parser("retry", help="make failed events pending again")
    retry.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="only these (default all)")
    retry.set_defaults(handler=retry_failed)
    return parser


def _configured_path() -> Path:
    # The same lookup as the server's, without the settings only the server needs.
    config = Config(root_path=".", defaults=dict(DEFAULTS))
    config.from_prefixed_env(ENV_PREFIX)
    return load_outbox_settings(config).path


def show_status(outbox: Outbox, args: argparse.Namespace) -> int:
    """Print the counts, the circuit, the figures per source and the most recent failures."""
    summary = outbox.summary()
    for status in Status:
        print(f"{status.value:<10} {summary.counts[status]:>8}{_age(summary, status)}")
    print(f"{'circuit':<10} {_circuit(outbox)}")
    print()
    print(f"{'status':<10} {'source':<12} {'count':>8} {'oldest':>12} {'newest':>12}")
    for figure in outbox.figures():
        print(
            f"{figure.status.value:<10} {figure.source:<12} {figure.count:>8}"
            f" {_duration(figure.oldest_seconds):>12} {_duration(figure.newest_seconds):>12}"
        )
    failures = outbox.failed(_SHOWN_FAILURES)
    if failures:
        print()
        print("latest dead letters (`outbox dead-letters` lists them all):")
        _print_failures(failures)
    return 0


def list_dead_letters(outbox: Outbox, args: argparse.Namespace) -> int:
    """Print every dead letter, most recently failed first, with its last error."""
    _print_failures(outbox.failed(args.limit))
    return 0


def _print_failures(failures: Sequence[FailedEvent]) -> None:
    for failure in failures:
        print(
            f"  {failure.event_id}  {failure.source}  {failure.type}  "
            f"attempts={failure.attempts}  {failure.last_error}"
        )


def _circuit(outbox: Outbox) -> str:
    failures, open_until = outbox.circuit()
    wait = open_until - outbox.clock()
    if not failures:
        return "closed (core answering)"
    if wait > 0:
        return f"open for {wait:.1f} s more after {failures} failure(s) in a row"
    return f"half-open: the next claim probes core ({failures} failure(s) in a row)"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def retry_failed(outbox: Outbox, args: argparse.Namespace) -> int:
    """Make failed events pending again and say how many."""
    count = outbox.retry_failed(args.event_ids)
    print(f"{count} failed event(s) pending again")
    return 0 if count or not args.event_ids else 1


def _age(summary: OutboxSummary, status: Status) -> str:
    age = summary.oldest_pending_seconds
    if status is not Status.PENDING or age is None:
        return ""
    return f"  (oldest waiting {age:.1f} s)"
