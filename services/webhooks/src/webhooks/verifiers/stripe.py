"""Stripe's scheme: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``.

The signature is checked by the official ``stripe`` library; its timestamp window is the shared
intake rule (both directions), so the library's own one-sided tolerance is turned off.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from strangler_shared.webhook_intake import (
    InvalidSignatureError,
    MissingSignatureError,
    stripe_signature_timestamp,
)

# Named here, not as stripe.WebhookSignature at call time: the stripe package imports its
# submodules on first attribute access, which cost the first delivery of every adapter process
# 43 ms here (more on a busy machine). Importing them now moves that cost to start-up.
from stripe import SignatureVerificationError, WebhookSignature

_HEADER = "stripe-signature"


class StripeVerifier:
    """Verify ``Stripe-Signature`` deliveries against any of the source's active secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = tuple(secrets)

    def signed_at(self, headers: Mapping[str, str]) -> float:
        """Return the header's ``t``."""
        return stripe_signature_timestamp(_header(headers))

    def check_signature(self, body: str, headers: Mapping[str, str]) -> None:
        """Accept the delivery if any active secret produced one of its ``v1`` signatures."""
        header = _header(headers)
        reason = "no signing secret"
        for secret in self._secrets:
            try:
                WebhookSignature.verify_header(body, header, secret, tolerance=None)
            except SignatureVerificationError as error:
                reason = error.user_message or str(error)
            else:
                return
        raise InvalidSignatureError(f"The Stripe-Signature does not verify: {reason}")

    def identify(
        self, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> tuple[object, object]:
        """Return the body's ``id`` and ``type``."""
        return payload.get("id"), payload.get("type")


def _header(headers: Mapping[str, str]) -> str:
    header = headers.get(_HEADER, "").strip()
    if not header:
        raise MissingSignatureError("The Stripe-Signature header is missing.")
    return header
