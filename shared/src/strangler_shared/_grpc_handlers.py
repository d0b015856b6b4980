"""Rebuild a gRPC method handler around new behaviour, keeping its streaming kind.

Server interceptors that answer for a method themselves (the service-token check refusing a
call, the decoder answering bytes that do not parse) need a handler of the method's own kind.
"""

from collections.abc import Callable
from typing import Any

import grpc

Deserializer = Callable[[bytes], Any] | None


def same_kind_handler(
    handler: grpc.RpcMethodHandler,
    behaviour: Callable[..., Any],
    request_deserializer: Deserializer = None,
) -> Any:
    """Build a handler of the same streaming kind as ``handler`` that runs ``behaviour``.

    ``request_deserializer`` replaces the handler's own when given.
    """
    kwargs = {
        "request_deserializer": request_deserializer or handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(behaviour, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(behaviour, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(behaviour, **kwargs)
    return grpc.unary_unary_rpc_method_handler(behaviour, **kwargs)
