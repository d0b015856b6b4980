"""Proving that a delivery comes from its sender: one verifier per signature scheme.

Senders sign differently (Stripe's ``Stripe-Signature``; Standard Webhooks' ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature``) but the intake asks each the same three things,
in the same order for every source: when was it signed, does the signature match, which event is
it. Adding a source is one :class:`Verifier` class in :data:`VERIFIERS` (the adapter then serves
``POST /webhooks/<source>`` and reads ``WEBHOOKS_<SOURCE>_SIGNING_SECRET``) and one route in the
gateway's route table.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from webhooks.verifiers.standard import StandardWebhooksVerifier
from webhooks.verifiers.stripe import StripeVerifier

__all__ = ["VERIFIERS", "Verifier", "VerifierFactory"]


class Verifier(Protocol):
    """Check one signature scheme; ``headers`` arrive with lower-case names."""

    def signed_at(self, headers: Mapping[str, str]) -> float:
        """Return the signature's timestamp; raise MissingSignature- or InvalidSignatureError."""
        ...

    def check_signature(self, body: str, headers: Mapping[str, str]) -> None:
        """Raise InvalidSignatureError unless one active secret signed ``body``."""
        ...

    def identify(
        self, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> tuple[object, object]:
        """Return the event's id and type as the sender gives them (checked by the caller)."""
        ...


# Built with the source's active secrets: more than one while a rotation is under way.
VerifierFactory = Callable[[Sequence[str]], Verifier]

VERIFIERS: Mapping[str, VerifierFactory] = {
    "stripe": StripeVerifier,
    "standard": StandardWebhooksVerifier,
}
