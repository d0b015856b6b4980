"""``python -m webhooks outbox``: look into the outbox and send dead letters back to the relay.

``outbox status`` prints how many events are pending, delivered and failed, how long the oldest
pending one has waited, and the failed ones with core's last answer. ``outbox retry [EVENT_ID ...]``
makes the failed events (all, or those named) pending again; a running relay delivers them within
a second. The outbox file is ``--path``, else ``WEBHOOKS_OUTBOX_PATH`` as for the server.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import Config

from webhooks.config import DEFAULTS, ENV_PREFIX, ConfigError, load_outbox_settings
from webhooks.outbox import Outbox, OutboxSummary, OutboxUnavailableError, Status

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
    """Print the counts, the oldest pending event's age and the most recent failures."""
    summary = outbox.summary()
    for status in Status:
        print(f"{status.value:<10} {summary.counts[status]:>8}{_age(summary, status)}")
    for failure in outbox.failed(_SHOWN_FAILURES):
        print(
            f"  {failure.event_id}  {failure.type}  attempts={failure.attempts}  "
            f"{failure.last_error}"
        )
    return 0


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
