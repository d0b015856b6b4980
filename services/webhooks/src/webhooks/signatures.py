"""Proving that a delivery comes from its provider, with one Verifier per provider.

Providers sign differently (Stripe's ``Stripe-Signature``; Standard Webhooks' ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature``) but answer the same question, so the intake looks
up a :class:`Verifier` by provider name and never knows the scheme. Adding a provider is adding a
verifier to the registry built in :func:`build_verifiers`.
"""

import json
from collections.abc import Mapping
from typing import Any, Protocol

import stripe

from webhooks.config import Settings
from webhooks.errors import InvalidEventError, InvalidSignatureError, MissingSignatureError
from webhooks.events import EventIdentity

STRIPE = "stripe"
_STRIPE_HEADER = "stripe-signature"


class Verifier(Protocol):
    """Check one provider's signature scheme; ``headers`` arrive with lower-case names."""

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> EventIdentity:
        """Return the event's id and type; raise an IntakeError if it is not authentic."""
        ...


class StripeVerifier:
    """Verify ``Stripe-Signature`` deliveries with the official stripe library."""

    def __init__(self, signing_secret: str, tolerance_seconds: int = 300) -> None:
        self._secret = signing_secret
        self._tolerance = tolerance_seconds

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> EventIdentity:
        """Check the signature and its age, then read the event's id and type."""
        header = headers.get(_STRIPE_HEADER, "").strip()
        if not header:
            raise MissingSignatureError("The Stripe-Signature header is missing.")
        self._check_signature(raw_body, header)
        return read_event_identity(raw_body)

    def _check_signature(self, raw_body: bytes, header: str) -> None:
        try:
            stripe.WebhookSignature.verify_header(raw_body, header, self._secret, self._tolerance)
        except UnicodeDecodeError as error:
            # The library decodes the body before signing it; JSON is UTF-8 (RFC 8259).
            raise InvalidEventError("The body is not UTF-8 text.") from error
        except stripe.SignatureVerificationError as error:
            reason = error.user_message or str(error)
            message = f"The Stripe-Signature does not verify: {reason}"
            raise InvalidSignatureError(message) from error


def read_event_identity(raw_body: bytes) -> EventIdentity:
    """Parse the body as a JSON object and return its string ``id`` and ``type``."""
    try:
        event: Any = json.loads(raw_body)
    except (ValueError, RecursionError) as error:
        raise InvalidEventError("The body is not valid JSON.") from error
    if not isinstance(event, dict):
        raise InvalidEventError("The body must be a JSON object.")
    return EventIdentity(_required_text(event, "id"), _required_text(event, "type"))


def _required_text(event: dict[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"The event needs a non-empty string '{key}'.")
    return value


def build_verifiers(settings: Settings) -> dict[str, Verifier]:
    """Return the verifier of every provider the adapter accepts, keyed by provider name."""
    return {
        STRIPE: StripeVerifier(settings.stripe_signing_secret, settings.stripe_tolerance_seconds),
    }
