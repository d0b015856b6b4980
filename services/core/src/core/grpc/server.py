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
from strangler_shared import ServiceTokenServerInterceptor

from core.grpc.servicer import SERVICE_NAME, CoreServicer

logger = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS = 16


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


def start_server(bind: str, token: str, max_workers: int = DEFAULT_MAX_WORKERS) -> RunningServer:
    """Create, bind and start the server; ``bind`` may use port 0 for a free port."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="core-grpc"),
        interceptors=[ServiceTokenServerInterceptor(token)],
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
