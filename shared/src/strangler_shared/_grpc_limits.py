"""Bounds on what a synchronous gRPC server gives to streams, so streams cannot starve it.

A ``grpc.server`` runs every call on a thread of a fixed pool, and a server-streaming call keeps
its thread until the stream ends. Without a bound, as many long streams as the pool has threads
(``Health/Watch`` never ends on its own) leave nothing for unary calls. The interceptor here
admits at most ``max_streams`` streams at once, answering ``RESOURCE_EXHAUSTED`` past that, and
cancels a stream that outlives ``max_lifetime_seconds``.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

logger = logging.getLogger(__name__)

_BUSY = "too many streams open on this server; retry later"


class _Slot:
    """One admitted stream: gives its place back exactly once, however the call ends."""

    def __init__(self, semaphore: threading.BoundedSemaphore, timer: threading.Timer) -> None:
        self._semaphore = semaphore
        self._timer = timer
        self._lock = threading.Lock()
        self._held = True

    def release(self) -> None:
        """Stop the lifetime timer and free the place (idempotent)."""
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._timer.cancel()
        self._semaphore.release()


class StreamLimitServerInterceptor(grpc.ServerInterceptor):
    """Admit a bounded number of response streams, each for a bounded time."""

    def __init__(self, max_streams: int, max_lifetime_seconds: float) -> None:
        if max_streams < 1 or max_lifetime_seconds <= 0:
            raise ValueError("max_streams must be >= 1 and max_lifetime_seconds > 0")
        self._streams = threading.BoundedSemaphore(max_streams)
        self._lifetime = max_lifetime_seconds

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or not handler.response_streaming or handler.request_streaming:
            return handler
        behaviour = handler.unary_stream
        assert behaviour is not None, "a unary-stream handler has its behaviour"
        return grpc.unary_stream_rpc_method_handler(
            self._bounded(behaviour),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _bounded(self, behaviour: Callable[..., Any]) -> Callable[..., Iterator[Any]]:
        def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            slot = self._admit(context)
            try:
                yield from behaviour(request, context)
            finally:
                slot.release()

        return run

    def _admit(self, context: grpc.ServicerContext) -> _Slot:
        if not self._streams.acquire(blocking=False):
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, _BUSY)
        # Cancelling ends a stream even while its handler waits for something to send.
        timer = threading.Timer(self._lifetime, _expire, args=(context,))
        timer.daemon = True
        slot = _Slot(self._streams, timer)
        # The callback runs when the call ends for any reason, even if the generator never
        # gets closed (a client that cancels mid-stream).
        context.add_callback(slot.release)
        timer.start()
        return slot


def _expire(context: grpc.ServicerContext) -> None:
    logger.info("cancelling a stream that outlived its lifetime")
    context.cancel()
