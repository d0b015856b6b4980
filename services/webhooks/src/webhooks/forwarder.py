"""Applying a stored event in core over gRPC ``CoreService.ApplyEvent``.

The channel is opened on first use, once per forwarder, in the process that uses it: gRPC channels
do not survive ``fork``, and gunicorn builds the app in each worker after forking. gRPC failures
become :class:`DeliveryError` here, marked permanent when retrying cannot help, so the relay knows
whether to retry later or keep the event as a dead letter.

A channel that could not reach core is dropped, and the next call opens a fresh one. Kept, it
would wait out gRPC's own reconnect backoff (seconds, growing while core stays down) and fail every
call meanwhile with the outage's last error, even once core is back: the relay's first attempt
after core's return would fail for nothing. The relay's backoff and circuit already pace the
retries, and a fresh channel connects at once.
"""

import logging
import threading

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import open_channel

from webhooks.events import Outcome, VerifiedEvent

logger = logging.getLogger(__name__)

# core down, slow, overloaded, or failing on something of its own (a locked database): all may
# pass. Any other status says the request or the deployment is wrong, which a retry cannot fix.
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)
# The transient failures that say core itself is unreachable or overloaded, not this event:
# they open the relay's circuit, so every relay waits instead of trying event after event.
_CORE_DOWN = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
_OUTCOMES = {
    core_pb2.ApplyEventResponse.APPLIED: Outcome.APPLIED,
    core_pb2.ApplyEventResponse.DUPLICATE: Outcome.DUPLICATE,
    core_pb2.ApplyEventResponse.IGNORED: Outcome.IGNORED,
}


class DeliveryError(Exception):
    """core did not apply an event; ``permanent`` when retrying the same call cannot help.

    ``core_down`` when the failure is core's as a whole (unreachable, deadline, overloaded).
    """

    def __init__(self, message: str, *, permanent: bool, core_down: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.core_down = core_down


class CoreForwarder:
    """Apply events in core through one lazily opened, authenticated channel."""

    def __init__(self, target: str, token: str, *, timeout_seconds: float = 5.0) -> None:
        self._target = target
        self._token = token
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stub: core_pb2_grpc.CoreServiceStub | None = None

    def forward(self, event: VerifiedEvent) -> Outcome:
        """Apply ``event`` in core and return core's outcome, or raise DeliveryError."""
        core = self._core()
        try:
            response = core.ApplyEvent(apply_event_request(event))
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call) and error.code() is grpc.StatusCode.UNAVAILABLE:
                self._drop(core)
            raise self._delivery_error(error, event) from error
        return _outcome(response, event)

    def close(self) -> None:
        """Close the channel if it was opened."""
        with self._lock:
            self._release()

    def _drop(self, stub: core_pb2_grpc.CoreServiceStub) -> None:
        """Close the channel behind ``stub`` unless another call already replaced it."""
        with self._lock:
            if self._stub is stub:
                self._release()

    def _release(self) -> None:
        # With the lock held.
        if self._channel is not None:
            self._channel.close()
        self._channel, self._stub = None, None

    def _core(self) -> core_pb2_grpc.CoreServiceStub:
        with self._lock:
            if self._stub is None:
                self._channel = open_channel(
                    self._target, self._token, default_timeout=self._timeout
                )
                self._stub = core_pb2_grpc.CoreServiceStub(self._channel)
            return self._stub

    def _delivery_error(self, error: grpc.RpcError, event: VerifiedEvent) -> DeliveryError:
        code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = (error.details() if isinstance(error, grpc.Call) else None) or str(code)
        message = f"core answered {code.name}: {details}"
        if code in _TRANSIENT:
            logger.warning(
                "core at %s failed event %s (%s), will retry: %s",
                self._target,
                event.event_id,
                code.name,
                details,
            )
            return DeliveryError(message, permanent=False, core_down=code in _CORE_DOWN)
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            logger.critical(
                "core at %s refused the service token; STRANGLER_SERVICE_TOKEN differs between "
                "webhooks and core, so NO event can be delivered (event %s kept as failed; fix "
                "the token, then run `python -m webhooks outbox retry`)",
                self._target,
                event.event_id,
            )
        else:
            logger.error(
                "core refused event %s (%s) with %s: %s",
                event.event_id,
                event.type,
                code.name,
                details,
            )
        return DeliveryError(message, permanent=True)


def apply_event_request(event: VerifiedEvent) -> core_pb2.ApplyEventRequest:
    """Build the ApplyEvent request that carries ``event`` to core."""
    received_at = Timestamp()
    received_at.FromDatetime(event.received_at)
    return core_pb2.ApplyEventRequest(
        event_id=event.event_id,
        type=event.type,
        source=event.source,
        payload=event.payload,
        received_at=received_at,
    )


def _outcome(response: core_pb2.ApplyEventResponse, event: VerifiedEvent) -> Outcome:
    outcome = _OUTCOMES.get(response.outcome)
    if outcome is None:
        logger.error("core answered event %s with outcome %s", event.event_id, response.outcome)
        raise DeliveryError(f"core answered the unknown outcome {response.outcome}", permanent=True)
    return outcome
