"""Stripe's webhook endpoint: the HTTP face of the intake flow for provider ``stripe``.

An authentic event is answered only once it is stored: ``202 {"received": true, "event_id": ...,
"outcome": "accepted"}`` when it is new (core applies it shortly after), ``200`` with ``"outcome":
"duplicate"`` when the same event id was accepted before (a sender's re-delivery). Both are 2xx, so
the sender stops retrying either way; any other answer is the project's JSON error envelope.
"""

from http import HTTPStatus

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from webhooks.intake import current_intake
from webhooks.signatures import STRIPE

bp = Blueprint("stripe", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
def receive_stripe_event() -> ResponseReturnValue:
    """Verify a signed Stripe delivery and store it for delivery to core."""
    intake = current_intake()
    headers = {name.lower(): value for name, value in request.headers.items()}
    event = intake.receive(STRIPE, request.get_data(cache=False), headers)
    if intake.accept(event):
        return _answer(event.event_id, "accepted"), HTTPStatus.ACCEPTED
    return _answer(event.event_id, "duplicate"), HTTPStatus.OK


def _answer(event_id: str, outcome: str) -> dict[str, object]:
    return {"received": True, "event_id": event_id, "outcome": outcome}
