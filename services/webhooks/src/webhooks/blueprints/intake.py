"""The webhook endpoints: ``POST /webhooks/<source>``, the HTTP face of the intake flow.

One concrete route per source with a signing secret (so traces name ``/webhooks/stripe``, not a
pattern). An authentic event is answered only once it is stored: ``202 {"received": true,
"event_id": ..., "outcome": "accepted"}`` when it is new (core applies it shortly after), ``200``
with ``"outcome": "duplicate"`` when the same event id was accepted before (a sender's
re-delivery). Both are 2xx, so the sender stops retrying either way; any other answer is the
project's JSON error envelope.
"""

from collections.abc import Iterable
from http import HTTPStatus

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from webhooks.intake import current_intake


def blueprint(sources: Iterable[str]) -> Blueprint:
    """Return the blueprint with one intake route per source."""
    bp = Blueprint("intake", __name__, url_prefix="/webhooks")
    for source in sources:
        bp.add_url_rule(
            f"/{source}",
            endpoint=f"receive_{source}",
            view_func=receive_event,
            methods=["POST"],
            defaults={"source": source},
        )
    return bp


def receive_event(source: str) -> ResponseReturnValue:
    """Verify a signed delivery from ``source`` and store it for delivery to core."""
    intake = current_intake()
    headers = {name.lower(): value for name, value in request.headers.items()}
    event = intake.receive(source, request.get_data(cache=False), headers)
    if intake.accept(event):
        return _answer(event.event_id, "accepted"), HTTPStatus.ACCEPTED
    return _answer(event.event_id, "duplicate"), HTTPStatus.OK


def _answer(event_id: str, outcome: str) -> dict[str, object]:
    return {"received": True, "event_id": event_id, "outcome": outcome}
