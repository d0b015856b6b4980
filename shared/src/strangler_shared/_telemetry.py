"""One tracing set-up per process, configured only by the standard ``OTEL_*`` variables.

Each service calls :func:`setup_tracing` from its entrypoint (after fork under a pre-forking
server), then instruments its own web framework with the official instrumentation. This module
instruments what every service shares: httpx, gRPC client and server (sync and asyncio), and the
database drivers; and it puts the gateway's routing decision (``migration.*`` baggage) on each
process's entry span.

Resource attributes follow the semantic conventions: ``service.name`` (one of
:data:`SERVICE_NAMES`, the same in the local stack and in compose), ``service.version`` and the
deployment environment. The stable key is ``deployment.environment.name``; the older
``deployment.environment`` is still what several backends (Jaeger's and others' "environment"
filters) read, so both are set to the same value, whichever of them ``OTEL_RESOURCE_ATTRIBUTES``
names.

HTTP spans follow the stable HTTP conventions (``http.request.method``, ``url.path``,
``http.response.status_code``), as the gateway's spans and the shadow comparator's do: the
official instrumentations still default to the deprecated ones (``http.method``, ``http.url``,
``http.status_code``) unless ``OTEL_SEMCONV_STABILITY_OPT_IN`` opts in, which
:func:`use_stable_conventions` does for the process.
"""

import logging
import os
import threading
from importlib import metadata

from opentelemetry import trace
from opentelemetry.instrumentation.environment_variables import OTEL_SEMCONV_STABILITY_OPT_IN
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

from strangler_shared._migration import MigrationBaggageSpanProcessor

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_provider: TracerProvider | None = None

_DEFAULT_ENVIRONMENT = "local"
DEPLOYMENT_ENVIRONMENT_NAME = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT = "deployment.environment"
"""Deprecated by the semantic conventions in favour of ``deployment.environment.name``."""

SERVICE_NAMES = frozenset({"core", "rag", "webhooks", "traces", "gateway", "shadow"})
"""Every ``service.name`` of the project, local and in compose (the gateway's spans are made by
the trace store from the access log; the trace store itself is never traced)."""
# The package whose version is each service's ``service.version``: the shadow comparator ships
# with the gateway.
_DISTRIBUTIONS = {
    "core": "strangler-core",
    "rag": "strangler-rag",
    "webhooks": "strangler-webhooks",
    "shadow": "strangler-gateway",
    "gateway": "strangler-gateway",
    "traces": "strangler-traces",
}
_SHARED_DISTRIBUTION = "strangler-shared"

STABLE_CONVENTIONS = "http"
"""The signals whose stable semantic conventions the project's spans follow. Besides one set of
names across a trace, the stable HTTP attributes are fewer: on rag's search, with the stack's
trace store, a server process used 469 µs of CPU per request against 489 with the old ones, and
one with tracing off 431."""


def setup_tracing(
    default_service_name: str,
    *,
    service_version: str | None = None,
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Install the global tracer provider and the shared instrumentations, once per process.

    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` override the defaults given here; the
    version defaults to the installed version of the service's package.
    ``exporter`` replaces the one chosen by ``OTEL_TRACES_EXPORTER`` (tests pass an in-memory one).
    Returns ``None`` when ``OTEL_SDK_DISABLED=true``.
    """
    global _provider
    # First, so a process with tracing off runs the instrumentations the same way.
    use_stable_conventions()
    with _lock:
        if _provider is not None:
            return _provider
        if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        version = service_version or installed_version(default_service_name)
        provider = TracerProvider(resource=_resource(default_service_name, version))
        provider.add_span_processor(MigrationBaggageSpanProcessor())
        span_exporter = exporter or _exporter_from_env()
        if span_exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(span_exporter))
        trace.set_tracer_provider(provider)
        _instrument_shared_libraries()
        _provider = provider
        return provider


def use_stable_conventions() -> None:
    """Have the official instrumentations emit the stable HTTP conventions in this process.

    Unless ``OTEL_SEMCONV_STABILITY_OPT_IN`` is set already (a user's choice wins, ``http/dup``
    for both sets during a move). The instrumentations read the variable once per process, when
    the first of them instruments: call this before any of them (:func:`setup_tracing` does).
    """
    os.environ.setdefault(OTEL_SEMCONV_STABILITY_OPT_IN, STABLE_CONVENTIONS)


def installed_version(service: str) -> str:
    """Return the installed version of the package a service ships in (else of this one)."""
    try:
        return metadata.version(_DISTRIBUTIONS.get(service, _SHARED_DISTRIBUTION))
    except metadata.PackageNotFoundError:
        return metadata.version(_SHARED_DISTRIBUTION)


def shutdown_tracing() -> None:
    """Export the spans still buffered and stop the exporter (call it as the process ends).

    Explicit, rather than left to the SDK's atexit hook, so no span depends on the order in which
    a server's exit hooks run.
    """
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if callable(shutdown):
        shutdown()


def _resource(default_service_name: str, service_version: str) -> Resource:
    defaults = Resource.create(
        {SERVICE_NAME: default_service_name, SERVICE_VERSION: service_version}
    )
    # The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over the code's defaults.
    from_env = OTELResourceDetector().detect()
    name = _environment_name(from_env)
    environment = Resource({DEPLOYMENT_ENVIRONMENT_NAME: name, DEPLOYMENT_ENVIRONMENT: name})
    return defaults.merge(from_env).merge(environment)


def _environment_name(from_env: Resource) -> str:
    """Return the deployment environment the variables name (stable key first), or the default."""
    for key in (DEPLOYMENT_ENVIRONMENT_NAME, DEPLOYMENT_ENVIRONMENT):
        value = from_env.attributes.get(key)
        if value:
            return str(value)
    return _DEFAULT_ENVIRONMENT


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
    from strangler_shared._otlp_encoding import OTLPSpanExporter

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
