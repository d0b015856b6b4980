"""The intake flow as explicit steps: receive (verify) a delivery, then deliver it.

Today :meth:`Intake.deliver` forwards synchronously to core and the sender's retries are the only
retries. A durable outbox slots in between the two steps without changing them: store the
:class:`VerifiedEvent` (refusing a replayed event id) before answering 2xx, and let a worker
deliver stored events with retries.
"""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol, cast

from flask import current_app

from webhooks.errors import IntakeError
from webhooks.events import Outcome, VerifiedEvent
from webhooks.signatures import Verifier

logger = logging.getLogger(__name__)

EXTENSION_KEY = "webhooks.intake"


class Forwarder(Protocol):
    """Hand a verified event to the system that applies it."""

    def forward(self, event: VerifiedEvent) -> Outcome:
        """Apply ``event`` and return what it did, or raise an IntakeError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class UnknownProviderError(LookupError):
    """No verifier is registered for the provider a route names."""


class Intake:
    """Verify deliveries with per-provider verifiers and deliver them through a forwarder."""

    def __init__(self, verifiers: Mapping[str, Verifier], forwarder: Forwarder) -> None:
        self._verifiers = dict(verifiers)
        self._forwarder = forwarder

    def receive(self, provider: str, raw_body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """Verify a delivery from ``provider``; ``headers`` has lower-case names."""
        received_at = datetime.now(UTC)
        verifier = self._verifier(provider)
        try:
            identity = verifier.verify(raw_body, headers)
        except IntakeError as error:
            logger.warning("refused %s delivery: %s (%s)", provider, error.code, error.message)
            raise
        return VerifiedEvent(provider, identity.event_id, identity.type, raw_body, received_at)

    def deliver(self, event: VerifiedEvent) -> Outcome:
        """Hand a verified event on and return its outcome."""
        outcome = self._forwarder.forward(event)
        logger.info(
            "delivered %s event %s (%s): %s", event.source, event.event_id, event.type, outcome
        )
        return outcome

    def close(self) -> None:
        """Release the forwarder's connections."""
        self._forwarder.close()

    def _verifier(self, provider: str) -> Verifier:
        try:
            return self._verifiers[provider]
        except KeyError:
            raise UnknownProviderError(f"no verifier registered for {provider!r}") from None


def current_intake() -> Intake:
    """Return the intake of the app handling the current request."""
    return cast(Intake, current_app.extensions[EXTENSION_KEY])
