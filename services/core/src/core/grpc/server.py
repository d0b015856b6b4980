"""Building CoreService's gRPC server: the servicer, health checking, reflection, the token check.

Kept apart from the management command so tests start the very same server on a free port.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from strangler_contracts.core.v1 import core_pb2_grpc
from strangler_shared import (
    MalformedRequestServerInterceptor,
    ServiceTokenServerInterceptor,
    StreamLimitServerInterceptor,
)

from core.grpc.servicer import SERVICE_NAME, CoreServicer

logger = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS = 16
# A stream holds a worker thread for its whole life: half the pool stays free for unary calls.
DEFAULT_MAX_STREAMS = DEFAULT_MAX_WORKERS // 2
# Long enough for rag's ListArticles (RAG_SYNC_STREAM_TIMEOUT_SECONDS, 60 s) to finish.
DEFAULT_MAX_STREAM_SECONDS = 300.0
# Calls waiting for a thread past this many are answered RESOURCE_EXHAUSTED, not queued.
QUEUED_CALLS_PER_WORKER = 4


class BindError(RuntimeError):
    """The server could not listen on the requested address."""


@dataclass
class RunningServer:
    """A started server, the port it listens on and its health service."""

    server: grpc.Server
    port: int
    health: health.HealthServicer

    def stop(self, grace: float) -> None:
        """Report NOT_SERVING, then stop, letting calls in flight finish within ``grace``."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def start_server(
    bind: str,
    token: str,
    max_workers: int = DEFAULT_MAX_WORKERS,
    *,
    max_streams: int | None = None,
    max_stream_seconds: float = DEFAULT_MAX_STREAM_SECONDS,
) -> RunningServer:
    """Create, bind and start the server; ``bind`` may use port 0 for a free port.

    At most ``max_streams`` (default: half the workers) server streams run at once, each for at
    most ``max_stream_seconds``; the token is checked first, so only Health/Check is anonymous.
    """
    streams = max_streams or max(1, max_workers // 2)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="core-grpc"),
        interceptors=[
            ServiceTokenServerInterceptor(token),
            MalformedRequestServerInterceptor(),
            StreamLimitServerInterceptor(streams, max_stream_seconds),
        ],
        maximum_concurrent_rpcs=max_workers * QUEUED_CALLS_PER_WORKER,
    )
    core_pb2_grpc.add_CoreServiceServicer_to_server(CoreServicer(), server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(services, server)
    try:
        port = server.add_insecure_port(bind)
    except RuntimeError as exc:
        raise BindError(f"cannot listen on {bind}: {exc}") from exc
    server.start()
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    logger.info("CoreService listening on %s (port %s)", bind, port)
    return RunningServer(server=server, port=port, health=health_servicer)
