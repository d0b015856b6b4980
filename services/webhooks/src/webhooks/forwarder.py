"""Delivering a verified event to core over gRPC ``CoreService.ApplyEvent``.

The channel is opened on first use, once per forwarder, in the process that uses it: gRPC channels
do not survive ``fork``, and gunicorn builds the app in each worker after forking. gRPC failures
become intake errors here, so the HTTP boundary tells the sender whether retrying can help.
"""

import logging
import threading

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import open_channel

from webhooks.errors import (
    CoreError,
    CoreMisconfiguredError,
    CoreUnavailableError,
    IntakeError,
    InvalidEventError,
)
from webhooks.events import Outcome, VerifiedEvent

logger = logging.getLogger(__name__)

_RETRY_LATER = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_OUTCOMES = {
    core_pb2.ApplyEventResponse.APPLIED: Outcome.APPLIED,
    core_pb2.ApplyEventResponse.DUPLICATE: Outcome.DUPLICATE,
    core_pb2.ApplyEventResponse.IGNORED: Outcome.IGNORED,
}


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
        """Apply ``event`` in core and return core's outcome."""
        try:
            response = self._core().ApplyEvent(apply_event_request(event))
        except grpc.RpcError as error:
            raise self._intake_error(error, event) from error
        return _outcome(response, event)

    def close(self) -> None:
        """Close the channel if it was opened."""
        with self._lock:
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

    def _intake_error(self, error: grpc.RpcError, event: VerifiedEvent) -> IntakeError:
        code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = (error.details() if isinstance(error, grpc.Call) else None) or str(code)
        if code in _RETRY_LATER:
            logger.warning(
                "core at %s unavailable for event %s (%s): %s",
                self._target,
                event.event_id,
                code.name,
                details,
            )
            return CoreUnavailableError("core is unavailable; retry the delivery later.")
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            logger.warning("core rejected event %s (%s): %s", event.event_id, event.type, details)
            return InvalidEventError(f"core rejected the event: {details}")
        if code == grpc.StatusCode.UNAUTHENTICATED:
            logger.critical(
                "core at %s refused the service token; STRANGLER_SERVICE_TOKEN differs between "
                "webhooks and core, so NO event can be delivered (event %s answered 500)",
                self._target,
                event.event_id,
            )
            return CoreMisconfiguredError("The webhook adapter is misconfigured.")
        logger.error("core failed event %s with %s: %s", event.event_id, code.name, details)
        return CoreError("core failed to apply the event.")


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
        raise CoreError("core answered with an unknown outcome.")
    return outcome
