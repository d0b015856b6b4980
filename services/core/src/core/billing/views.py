"""The legacy Stripe webhook endpoint, as the monolith has always received payment events.

The Flask adapter is taking this route over (verify, store, forward over gRPC); until the gateway
moves it, deliveries land here and are applied directly through ``billing.services``.
"""

import json
import logging
from typing import Any

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.billing.services import InvalidEventError, apply_event
from core.config.errors import error_response

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
SOURCE = "stripe"


def _parse_event(raw: str) -> dict[str, Any] | None:
    """Return the event if the body is a JSON object with a string id and type."""
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        return None
    return event


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify a Stripe-signed delivery and apply the event to billing state."""
    secret: str = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("STRIPE_WEBHOOK_SECRET is not set; refusing webhook deliveries")
        return error_response(503, "not_configured", "webhook signing secret is not configured")
    header = request.headers.get("Stripe-Signature")
    if not header:
        return error_response(400, "missing_signature", "the Stripe-Signature header is missing")
    try:
        raw = request.body.decode("utf-8")
        stripe.WebhookSignature.verify_header(raw, header, secret, SIGNATURE_TOLERANCE_SECONDS)
    except (UnicodeDecodeError, stripe.SignatureVerificationError):
        return error_response(400, "invalid_signature", "the signature is invalid or expired")
    event = _parse_event(raw)
    if event is None:
        return error_response(
            400, "invalid_event", "the body is not a JSON event with an id and a type"
        )
    try:
        result = apply_event(event["id"], event["type"], SOURCE, event)
    except InvalidEventError as exc:
        return error_response(400, "invalid_event", str(exc))
    return JsonResponse(
        {"received": True, "event_id": event["id"], "outcome": result.outcome.value}
    )
