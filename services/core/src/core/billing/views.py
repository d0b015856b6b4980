"""The legacy Stripe webhook endpoint, as the monolith has always received payment events.

The Flask adapter is taking this route over (verify, store, forward over gRPC); until the gateway
moves it, deliveries land here and are applied directly through ``billing.services``. Both paths
check a delivery with the same rules (``strangler_shared.webhook_intake``) in the same order, so a
sender gets the same status and error code whichever one answers.
"""

import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from strangler_shared.webhook_intake import (
    MAX_BODY_BYTES,
    IntakeRefusal,
    InvalidSignatureError,
    MissingSignatureError,
    ParsedEvent,
    check_body_size,
    check_timestamp,
    decode_body,
    parse_event,
    stripe_signature_timestamp,
)

from core.billing.services import InvalidEventError, apply_event
from core.config.errors import error_response

logger = logging.getLogger(__name__)

SOURCE = "stripe"
# Past the limit the body is read and dropped, so the sender gets the 413 rather than a reset
# connection; past this much more it is not worth reading, and the connection is closed.
_DRAIN_LIMIT_BYTES = 64 * MAX_BODY_BYTES
_CHUNK_BYTES = 64 * 1024


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify a Stripe-signed delivery and apply the event to billing state."""
    secret: str = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("STRIPE_WEBHOOK_SECRET is not set; refusing webhook deliveries")
        return error_response(503, "not_configured", "webhook signing secret is not configured")
    try:
        event = _verified_event(request, secret)
    except IntakeRefusal as refusal:
        logger.warning("refused %s delivery: %s (%s)", SOURCE, refusal.code, refusal.message)
        return error_response(refusal.status, refusal.code, refusal.message)
    try:
        result = apply_event(event.event_id, event.type, SOURCE, event.payload)
    except InvalidEventError as exc:
        return error_response(400, "invalid_event", str(exc))
    return JsonResponse(
        {"received": True, "event_id": event.event_id, "outcome": result.outcome.value}
    )


def _verified_event(request: HttpRequest, secret: str) -> ParsedEvent:
    """Apply the shared intake rules in their order (webhook_intake.CHECK_ORDER)."""
    _check_declared_size(request)
    header = request.headers.get("Stripe-Signature", "").strip()
    if not header:
        raise MissingSignatureError("The Stripe-Signature header is missing.")
    check_timestamp(stripe_signature_timestamp(header))
    body = decode_body(request.body)
    try:
        # The window was checked above, in both directions; the library's is one-sided.
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
    except stripe.SignatureVerificationError as error:
        reason = error.user_message or str(error)
        raise InvalidSignatureError(f"The Stripe-Signature does not verify: {reason}") from None
    return parse_event(body)


def _check_declared_size(request: HttpRequest) -> None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        check_body_size(declared)
    except IntakeRefusal:
        _drain(request, declared)
        raise


def _drain(request: HttpRequest, declared: int) -> None:
    if declared > _DRAIN_LIMIT_BYTES:
        return
    while request.read(_CHUNK_BYTES):
        pass
