"""Stripe's webhook endpoint: the HTTP face of the intake flow for provider ``stripe``."""

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from webhooks.intake import current_intake
from webhooks.signatures import STRIPE

bp = Blueprint("stripe", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
def receive_stripe_event() -> ResponseReturnValue:
    """Verify a signed Stripe delivery, apply it in core and report the outcome."""
    intake = current_intake()
    headers = {name.lower(): value for name, value in request.headers.items()}
    event = intake.receive(STRIPE, request.get_data(cache=False), headers)
    outcome = intake.deliver(event)
    return {"received": True, "event_id": event.event_id, "outcome": outcome.value}
