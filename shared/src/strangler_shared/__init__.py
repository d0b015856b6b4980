"""What every service of the project needs the same way.

Nothing happens on import: each service calls these from its entrypoint.
"""

from strangler_shared._errors import error_body
from strangler_shared._grpc_auth import (
    AioServiceTokenServerInterceptor,
    ServiceTokenServerInterceptor,
    open_aio_channel,
    open_channel,
)
from strangler_shared._logs import configure_logging
from strangler_shared._migration import MigrationBaggageSpanProcessor
from strangler_shared._secrets import InvalidSecretError, load_service_token
from strangler_shared._telemetry import SERVICE_NAMES, setup_tracing, shutdown_tracing

__all__ = [
    "SERVICE_NAMES",
    "AioServiceTokenServerInterceptor",
    "InvalidSecretError",
    "MigrationBaggageSpanProcessor",
    "ServiceTokenServerInterceptor",
    "configure_logging",
    "error_body",
    "load_service_token",
    "open_aio_channel",
    "open_channel",
    "setup_tracing",
    "shutdown_tracing",
]
