"""The intake flow as explicit steps: receive (verify) a delivery, then accept (store) it.

Accepting commits the event to the outbox, with the trace context of the request, before the
sender gets its answer; delivering it to core is the relay's job, later and with retries. An
event id stored before is acknowledged again without a second row, so a sender's re-delivery is
harmless.
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from flask import current_app
from strangler_shared.webhook_intake import (
    check_body_size,
    check_event_fields,
    check_timestamp,
    decode_body,
    parse_payload,
)

from webhooks.errors import IntakeError, StorageUnavailableError
from webhooks.events import VerifiedEvent, ordering_key
from webhooks.outbox import Outbox, OutboxUnavailableError
from webhooks.tracing import current_trace_context
from webhooks.verifiers import Verifier

logger = logging.getLogger(__name__)

EXTENSION_KEY = "webhooks.intake"


class UnknownSourceError(LookupError):
    """No verifier is registered for the source a route names."""


class Intake:
    """Verify deliveries with per-source verifiers and store them in the outbox."""

    def __init__(
        self,
        verifiers: Mapping[str, Verifier],
        outbox: Outbox,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self._verifiers = dict(verifiers)
        self._outbox = outbox
        self._on_stored = on_stored

    @property
    def sources(self) -> list[str]:
        """Return the sources this intake has a verifier for."""
        return list(self._verifiers)

    def receive(self, source: str, raw_body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """Verify a delivery from ``source``; ``headers`` has lower-case names."""
        received_at = datetime.now(UTC)
        verifier = self._verifier(source)
        try:
            event_id, event_type, payload = _check(verifier, source, raw_body, headers)
        except IntakeError as error:
            logger.warning("refused %s delivery: %s (%s)", source, error.code, error.message)
            raise
        key = ordering_key(payload)
        return VerifiedEvent(source, event_id, event_type, raw_body, received_at, key)

    def accept(self, event: VerifiedEvent) -> bool:
        """Store ``event`` for delivery; return False if its id was stored before."""
        try:
            stored = self._outbox.add(event, current_trace_context())
        except OutboxUnavailableError:
            logger.exception("could not store %s event %s", event.source, event.event_id)
            raise StorageUnavailableError(
                "The event could not be stored; retry the delivery later."
            ) from None
        if stored:
            logger.info("accepted %s event %s (%s)", event.source, event.event_id, event.type)
            self._on_stored()
        else:
            logger.info(
                "%s event %s was accepted before; not stored again", event.source, event.event_id
            )
        return stored

    def _verifier(self, source: str) -> Verifier:
        try:
            return self._verifiers[source]
        except KeyError:
            raise UnknownSourceError(f"no verifier registered for {source!r}") from None


def _check(
    verifier: Verifier, source: str, raw_body: bytes, headers: Mapping[str, str]
) -> tuple[str, str, dict[str, Any]]:
    # The shared rules' order (webhook_intake.CHECK_ORDER), the same on the legacy path.
    check_body_size(len(raw_body))
    check_timestamp(verifier.signed_at(headers))
    body = decode_body(raw_body)
    verifier.check_signature(body, headers)
    payload = parse_payload(body)
    event_id, event_type = verifier.identify(payload, headers)
    check_event_fields(event_id, event_type, source)
    return cast(str, event_id), cast(str, event_type), payload


def current_intake() -> Intake:
    """Return the intake of the app handling the current request."""
    return cast(Intake, current_app.extensions[EXTENSION_KEY])
