"""One tracing set-up per process, configured only by the standard ``OTEL_*`` variables.

Each service calls :func:`setup_tracing` from its entrypoint (after fork under a pre-forking
server), then instruments its own web framework with the official instrumentation. This module
instruments what every service shares: httpx, gRPC client and server (sync and asyncio), and the
database drivers.
"""

import logging
import os
import threading

from opentelemetry import trace
from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_provider: TracerProvider | None = None

_DEFAULT_ENVIRONMENT = "local"


def setup_tracing(
    default_service_name: str,
    *,
    service_version: str = "0.1.0",
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Install the global tracer provider and the shared instrumentations, once per process.

    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` override the defaults given here.
    ``exporter`` replaces the one chosen by ``OTEL_TRACES_EXPORTER`` (tests pass an in-memory one).
    Returns ``None`` when ``OTEL_SDK_DISABLED=true``.
    """
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        provider = TracerProvider(resource=_resource(default_service_name, service_version))
        span_exporter = exporter or _exporter_from_env()
        if span_exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(span_exporter))
        trace.set_tracer_provider(provider)
        _instrument_shared_libraries()
        _provider = provider
        return provider


def _resource(default_service_name: str, service_version: str) -> Resource:
    defaults = Resource.create(
        {
            SERVICE_NAME: default_service_name,
            SERVICE_VERSION: service_version,
            "deployment.environment.name": _DEFAULT_ENVIRONMENT,
        }
    )
    # The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over the code's defaults.
    return defaults.merge(OTELResourceDetector().detect())


def _exporter_from_env() -> SpanExporter | None:
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if choice == "none":
        return None
    if choice == "console":
        return ConsoleSpanExporter()
    if choice != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER=%s is not supported here; using otlp", choice)
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "grpc":
        logger.warning("OTLP over gRPC is not installed; exporting over http/protobuf")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _instrument_shared_libraries() -> None:
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
        GrpcInstrumentorClient,
        GrpcInstrumentorServer,
    )
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

    for instrumentor in (
        HTTPXClientInstrumentor(),
        GrpcInstrumentorClient(),
        GrpcInstrumentorServer(),
        GrpcAioInstrumentorClient(),
        GrpcAioInstrumentorServer(),
        SQLite3Instrumentor(),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    _instrument_psycopg()


def _instrument_psycopg() -> None:
    try:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    except ImportError:  # only core talks to PostgreSQL
        return
    instrumentor = PsycopgInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(skip_dep_check=True)
