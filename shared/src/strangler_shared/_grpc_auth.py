"""Authenticated internal gRPC: the token every call carries and the check every server makes.

Every internal call sends ``authorization: Bearer <service token>``; servers install the
interceptor, which answers ``UNAUTHENTICATED`` to a call without a valid token. Only the health
service's ``Check`` stays open, so probes (grpc_health_probe, Docker, Kubernetes) need no secret;
``Watch`` holds a stream open and reflection describes the whole server, so both need the token.
"""

import hmac
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, NamedTuple

import grpc
import grpc.aio

from strangler_shared._grpc_handlers import same_kind_handler

_METADATA_KEY = "authorization"
_SCHEME = "Bearer "
OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check"})
_DENIED = "missing or invalid service token"
DEFAULT_TIMEOUT_SECONDS = 5.0
# gRPC's reconnect backoff grows to 120 s by default: a peer back after a short outage would stay
# unreachable for minutes. Internal peers restart quickly, so retry at least every 5 s.
DEFAULT_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (("grpc.max_reconnect_backoff_ms", 5000),)


def _is_open(method: str, open_methods: frozenset[str]) -> bool:
    return method in open_methods


def _token_matches(metadata: Iterable[tuple[str, Any]] | None, token: str) -> bool:
    expected = (_SCHEME + token).encode()
    for key, value in metadata or ():
        if key == _METADATA_KEY:
            given = value.encode() if isinstance(value, str) else value
            return hmac.compare_digest(given, expected)
    return False


class ServiceTokenServerInterceptor(grpc.ServerInterceptor):
    """Reject calls to a ``grpc.server`` that lack the service token."""

    def __init__(self, token: str, open_methods: Iterable[str] = OPEN_METHODS) -> None:
        self._token = token
        self._open = frozenset(open_methods)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or _is_open(handler_call_details.method, self._open):
            return handler
        if _token_matches(handler_call_details.invocation_metadata, self._token):
            return handler

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

        return same_kind_handler(handler, deny)


class AioServiceTokenServerInterceptor(grpc.aio.ServerInterceptor):
    """Reject calls to a ``grpc.aio.server`` that lack the service token."""

    def __init__(self, token: str, open_methods: Iterable[str] = OPEN_METHODS) -> None:
        self._token = token
        self._open = frozenset(open_methods)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or _is_open(handler_call_details.method, self._open):
            return handler
        if _token_matches(handler_call_details.invocation_metadata, self._token):
            return handler

        if handler.response_streaming:
            # grpc.aio iterates a streaming handler's result: a coroutine there is UNKNOWN.
            return same_kind_handler(handler, _deny_stream)
        return same_kind_handler(handler, _deny)


async def _deny(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)


async def _deny_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
    # Unreachable (abort raises), but it makes this function an async generator.
    yield


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


def _with_token_and_deadline(details: Any, token: str, default_timeout: float) -> _CallDetails:
    metadata = list(details.metadata or [])
    metadata.append((_METADATA_KEY, _SCHEME + token))
    timeout = details.timeout if details.timeout is not None else default_timeout
    return _CallDetails(
        details.method,
        timeout,
        metadata,
        details.credentials,
        details.wait_for_ready,
        getattr(details, "compression", None),
    )


class _ClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, token: str, default_timeout: float) -> None:
        self._token = token
        self._timeout = default_timeout

    def _details(self, details: Any) -> _CallDetails:
        return _with_token_and_deadline(details, self._token, self._timeout)

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)


class _AioDetails(grpc.aio.ClientCallDetails):
    pass


def _aio_details(details: Any, token: str, default_timeout: float) -> grpc.aio.ClientCallDetails:
    plain = _with_token_and_deadline(details, token, default_timeout)
    return _AioDetails(
        plain.method, plain.timeout, plain.metadata, plain.credentials, plain.wait_for_ready
    )


class _AioUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, token: str, default_timeout: float) -> None:
        self._token, self._timeout = token, default_timeout

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        details = _aio_details(client_call_details, self._token, self._timeout)
        return await continuation(details, request)


class _AioUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, token: str, default_timeout: float) -> None:
        self._token, self._timeout = token, default_timeout

    async def intercept_unary_stream(self, continuation, client_call_details, request):
        details = _aio_details(client_call_details, self._token, self._timeout)
        return await continuation(details, request)


def open_channel(
    target: str,
    token: str,
    *,
    default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    options: Sequence[tuple[str, Any]] = DEFAULT_CHANNEL_OPTIONS,
) -> grpc.Channel:
    """Open an insecure (in-cluster, h2c) channel whose calls carry the token and a deadline."""
    channel = grpc.insecure_channel(target, options=list(options))
    return grpc.intercept_channel(channel, _ClientInterceptor(token, default_timeout))


def open_aio_channel(
    target: str,
    token: str,
    *,
    default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    options: Sequence[tuple[str, Any]] = DEFAULT_CHANNEL_OPTIONS,
) -> grpc.aio.Channel:
    """Open an asyncio channel whose unary and server-streaming calls carry token and deadline."""
    interceptors: list[grpc.aio.ClientInterceptor] = [
        _AioUnaryUnary(token, default_timeout),
        _AioUnaryStream(token, default_timeout),
    ]
    return grpc.aio.insecure_channel(target, options=list(options), interceptors=interceptors)
