"""Answer INVALID_ARGUMENT, not INTERNAL, to a request whose bytes are not its message.

gRPC's Python server answers ``INTERNAL`` ("Exception deserializing request!") when a request
does not parse, which reads as a server fault. These interceptors make parsing total: a request
that does not parse reaches the handler as a marker, and the handler answers
``INVALID_ARGUMENT`` naming the expected message.
"""

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
import grpc.aio

from strangler_shared._grpc_handlers import same_kind_handler

_MESSAGE = "the request is not a valid protobuf message for this method"


class _Undecodable:
    """Stands for a request whose bytes did not parse."""


_UNDECODABLE = _Undecodable()


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:  # any parse failure of any message type is the caller's error
            return _UNDECODABLE

    return decode


def _original(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    behaviour = (
        handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
    )
    assert behaviour is not None, "every handler has one behaviour"
    return behaviour


def _checked_requests(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
    for request in requests:
        if request is _UNDECODABLE:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
        yield request


def _sync_behaviour(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    behaviour = _original(handler)
    if handler.request_streaming:
        return lambda requests, context: behaviour(_checked_requests(requests, context), context)
    if handler.response_streaming:

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            if request is _UNDECODABLE:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
            yield from behaviour(request, context)

        return stream

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        if request is _UNDECODABLE:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
        return behaviour(request, context)

    return unary


class MalformedRequestServerInterceptor(grpc.ServerInterceptor):
    """Answer INVALID_ARGUMENT to unparsable requests on a ``grpc.server``."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return same_kind_handler(
            handler, _sync_behaviour(handler), _tolerant(handler.request_deserializer)
        )


async def _checked_async_requests(
    requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
) -> AsyncIterator[Any]:
    async for request in requests:
        if request is _UNDECODABLE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
        yield request


def _aio_behaviour(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    behaviour = _original(handler)
    if handler.request_streaming:
        # Request-streaming handlers here are library ones (reflection); they read the
        # iterator themselves, so checking each request as it is read is enough.
        return lambda requests, context: behaviour(
            _checked_async_requests(requests, context), context
        )
    if handler.response_streaming and inspect.isasyncgenfunction(behaviour):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if request is _UNDECODABLE:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
            async for response in behaviour(request, context):
                yield response

        return stream

    # A unary handler, or a streaming one that sends with context.write (health's Watch).
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if request is _UNDECODABLE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
        return await behaviour(request, context)

    return unary


class AioMalformedRequestServerInterceptor(grpc.aio.ServerInterceptor):
    """Answer INVALID_ARGUMENT to unparsable requests on a ``grpc.aio.server``."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # type: ignore[return-value]
        return same_kind_handler(
            handler, _aio_behaviour(handler), _tolerant(handler.request_deserializer)
        )
