"""The relay: a thread per worker process that delivers the outbox's due events to core.

The intake wakes it right after storing an event, so a delivery normally follows within
milliseconds. Between wake-ups it sleeps until the next retry is due, but never longer than the
poll interval, so it also finds events another worker stored and leases that ran out.
Each delivery either records core's outcome, schedules a retry with capped exponential backoff
and jitter, or keeps the event as a dead letter when core refuses it for good or when the event
has been retried for longer than the maximum age.

When core as a whole is down (unreachable, past its deadline, overloaded) the relay trips the
circuit every relay on the outbox shares: none claims anything until the circuit's wait (the same
capped doubling) is over, then one event goes as the probe; its success closes the circuit for
all. A dead core thus costs one call per backoff step, not one per stored event per relay.
Delivered events are pruned once they are older than the retention window.
"""

import logging
import random
import threading
from collections.abc import Callable
from typing import Protocol

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode, TracerProvider

from webhooks.config import OutboxSettings
from webhooks.events import Outcome, VerifiedEvent
from webhooks.forwarder import DeliveryError
from webhooks.outbox import ClaimedEvent, Outbox
from webhooks.tracing import delivery_span

logger = logging.getLogger(__name__)

THREAD_NAME = "webhooks-relay"
_MAX_DOUBLINGS = 32
# How often (relay clock) a relay looks for delivered events past the retention window.
PRUNE_EVERY_SECONDS = 60.0
# The longest wait between probes of a dead core: noticing its return soon matters more than
# the one call a probe costs.
CIRCUIT_CAP_SECONDS = 10.0


class Forwarder(Protocol):
    """Apply an event in the system of record."""

    def forward(self, event: VerifiedEvent) -> Outcome:
        """Apply ``event`` and return what it did, or raise DeliveryError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def backoff_seconds(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Return the wait after failed attempt number ``attempt``: doubling, capped, jittered."""
    ceiling = min(cap, base * 2 ** min(attempt - 1, _MAX_DOUBLINGS))
    # "Equal jitter": at least half the ceiling, so retries back off, spread over the other half
    # so workers that failed together do not retry together.
    return ceiling / 2 + rand() * ceiling / 2


class Relay:
    """Deliver due outbox events, in a background thread or one pass at a time."""

    def __init__(
        self,
        outbox: Outbox,
        forwarder: Forwarder,
        settings: OutboxSettings,
        *,
        tracer_provider: TracerProvider | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._outbox = outbox
        self._forwarder = forwarder
        self._settings = settings
        self._idle = settings.poll_seconds
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._rand = rand
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_prune = 0.0

    def start(self) -> None:
        """Start the delivery thread (in the process that will run it: not before a fork)."""
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the delivery thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Make the thread look for due events now."""
        self._woken.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread after its current delivery, then close the channel to core."""
        self._stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("relay still delivering after %s s; its lease will expire", timeout)
        self._forwarder.close()

    def deliver_due(self) -> int:
        """Deliver every event that is due now, one at a time; return how many were tried."""
        tried = 0
        while not self._stopping.is_set():
            # The claim runs whether or not anything is due: a span per poll would bury traces.
            with suppress_instrumentation():
                claimed = self._outbox.claim(self._settings.lease_seconds)
            if claimed is None:
                return tried
            self._deliver(claimed)
            tried += 1
        return tried

    def prune(self) -> int:
        """Delete the delivered events older than the retention window; return how many."""
        pruned = 0
        with suppress_instrumentation():
            while batch := self._outbox.prune_delivered(self._settings.retention_seconds):
                pruned += batch
        if pruned:
            logger.info("pruned %s delivered event(s) past the retention window", pruned)
        return pruned

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._woken.clear()
            try:
                self.deliver_due()
                self._prune_now_and_then()
                wait = self._seconds_until_due()
            except Exception:
                # The thread must outlive any failure: the events it holds wait for it.
                logger.exception("relay pass failed; trying again in %s s", self._idle)
                wait = self._idle
            self._woken.wait(wait)

    def _prune_now_and_then(self) -> None:
        now = self._outbox.clock()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_SECONDS
            self.prune()

    def _seconds_until_due(self) -> float:
        with suppress_instrumentation():
            due = self._outbox.next_due()
        if due is None:
            return self._idle
        return min(max(due - self._outbox.clock(), 0.0), self._idle)

    def _deliver(self, claimed: ClaimedEvent) -> None:
        event = claimed.event
        with delivery_span(self._tracer, claimed) as span:
            try:
                outcome = self._forwarder.forward(event)
            except DeliveryError as error:
                span.set_status(StatusCode.ERROR, str(error))
                self._settle_failure(claimed, error)
                return
            span.set_attribute("webhooks.delivery.outcome", outcome.value)
            kept = self._outbox.mark_delivered(claimed, outcome)
            logger.info(
                "delivered %s event %s (%s) on attempt %s: %s",
                event.source,
                event.event_id,
                event.type,
                claimed.attempt,
                outcome,
            )
        _warn_if_lost(kept, claimed)

    def _settle_failure(self, claimed: ClaimedEvent, error: DeliveryError) -> None:
        event_id = claimed.event.event_id
        age = self._outbox.clock() - claimed.event.received_at.timestamp()
        if error.permanent:
            kept = self._outbox.mark_failed(claimed, str(error))
            logger.error("event %s kept as failed (dead letter): %s", event_id, error)
        elif age >= self._settings.max_age_seconds:
            kept = self._outbox.mark_failed(claimed, f"retried for {age:.0f} s; last: {error}")
            logger.error(
                "event %s retried past the maximum age, kept as failed: %s", event_id, error
            )
        else:
            delay = self._backoff(claimed.attempt)
            kept = self._outbox.schedule_retry(claimed, delay, str(error))
            logger.warning(
                "event %s failed attempt %s; retrying in %.1f s", event_id, claimed.attempt, delay
            )
        if error.core_down:
            wait = self._outbox.trip_circuit(self._circuit_wait)
            logger.warning("core is unavailable; every relay waits %.1f s before a probe", wait)
        _warn_if_lost(kept, claimed)

    def _circuit_wait(self, failures: int) -> float:
        base = self._settings.retry_base_seconds
        cap = min(self._settings.retry_cap_seconds, CIRCUIT_CAP_SECONDS)
        return backoff_seconds(failures, base, max(cap, base), self._rand)

    def _backoff(self, attempt: int) -> float:
        settings = self._settings
        return backoff_seconds(
            attempt, settings.retry_base_seconds, settings.retry_cap_seconds, self._rand
        )


def _warn_if_lost(kept: bool, claimed: ClaimedEvent) -> None:
    if not kept:
        logger.warning(
            "lease on event %s ran out during attempt %s; another relay took it over",
            claimed.event.event_id,
            claimed.attempt,
        )
