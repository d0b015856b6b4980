"""The reflection server: the published contracts' schemas, for anyone who reaches the gateway.

It answers reflection (v1alpha, and v1 with the same messages) and the standard health service
(its own readiness), nothing else. No token: it serves only the public schemas and can reach no
service. Being open, its streams are bounded: at most ``max_streams`` at once (a further call is
``RESOURCE_EXHAUSTED``), each cancelled after ``max_stream_seconds``.
"""

import logging
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from strangler_shared import MalformedRequestServerInterceptor

from strangler_gateway.reflection.catalog import REFLECTION_SERVICES

__all__ = ["RunningReflection", "serve_reflection"]

logger = logging.getLogger(__name__)

_V1 = REFLECTION_SERVICES[0]


@dataclass(frozen=True)
class RunningReflection:
    """A started reflection server and the port it listens on."""

    server: grpc.Server
    port: int


class _BoundedReflection(reflection.ReflectionServicer):
    """Reflection that finds methods too, and cancels every stream after a fixed lifetime."""

    def __init__(
        self, services: Iterable[str], pool: descriptor_pool.DescriptorPool, seconds: float
    ) -> None:
        super().__init__(list(services), pool=pool)
        self._contracts = pool
        self._seconds = seconds

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        # The pool finds services, messages and fields by name but not methods, and grpcurl
        # describes a method by asking for the file that contains it: its service's file.
        owner = _method_owner(self._contracts, fully_qualified_name)
        return super()._file_containing_symbol(request, owner or fully_qualified_name)  # type: ignore[misc]

    def ServerReflectionInfo(
        self,
        request_iterator: Iterable[reflection_pb2.ServerReflectionRequest],
        context: grpc.ServicerContext | grpc.aio.ServicerContext[Any, Any],
    ) -> Iterator[reflection_pb2.ServerReflectionResponse]:
        """Answer each reflection question until the client ends the stream or its time is up."""
        assert isinstance(context, grpc.ServicerContext), "served by a synchronous grpc.server"
        # Cancelling also ends a stream whose client keeps it open without asking anything.
        timer = threading.Timer(self._seconds, context.cancel)
        timer.daemon = True
        context.add_callback(timer.cancel)
        timer.start()
        yield from super().ServerReflectionInfo(request_iterator, context)


def serve_reflection(
    bind: str,
    services: Iterable[str],
    pool: descriptor_pool.DescriptorPool,
    *,
    max_streams: int = 8,
    max_stream_seconds: float = 300.0,
) -> RunningReflection:
    """Start a reflection server for ``services`` described by ``pool`` on ``bind``."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_streams, thread_name_prefix="reflection"),
        interceptors=[MalformedRequestServerInterceptor()],
        # A bidirectional stream holds its thread: a call past the pool is refused, not queued.
        maximum_concurrent_rpcs=max_streams,
    )
    names = list(services)
    servicer = _BoundedReflection(names, pool, max_stream_seconds)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    server.add_generic_rpc_handlers((_v1_handler(servicer),))
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(bind)
    server.start()
    for name in ("", *REFLECTION_SERVICES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    logger.info("reflection for %d services listening on %s (port %s)", len(names), bind, port)
    return RunningReflection(server=server, port=port)


def _method_owner(pool: descriptor_pool.DescriptorPool, name: str) -> str | None:
    service, _, method = name.rpartition(".")
    try:
        found = pool.FindServiceByName(service)
    except KeyError:
        return None
    return service if method in found.methods_by_name else None


def _v1_handler(servicer: _BoundedReflection) -> grpc.GenericRpcHandler:
    # v1's messages are v1alpha's, field for field: the same servicer answers both paths.
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(_V1, {"ServerReflectionInfo": method})
