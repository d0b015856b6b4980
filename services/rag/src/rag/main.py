"""The rag application: HTTP (FastAPI) and gRPC (RagService) over one in-memory index.

Why gRPC runs in the same event loop as HTTP: rag is one process holding one index in memory,
synced from core by one background task. Running the ``grpc.aio`` server inside the FastAPI
lifespan lets HTTP and gRPC read that same index (no second copy, no second sync, no IPC), and
makes start-up and shutdown one sequence: the lifespan opens the channel to core and the
outbound HTTP client, builds the answer provider, starts the gRPC server and the sync task,
waits (bounded) for the first sync so no request is answered from an empty index, and on shutdown
(SIGTERM via uvicorn) stops them in reverse order.
"""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from strangler_shared import ServiceHeaderMiddleware, load_service_token, open_aio_channel
from strangler_shared.identity import load_identity_secret

from rag.api.main import include_routes
from rag.body_limit import BodyLimitMiddleware
from rag.config import Settings, get_settings
from rag.core_client import CoreClient
from rag.docs import install_docs
from rag.errors import SERVICE_NAME, install_error_handlers
from rag.faults import FaultFlags, Faults
from rag.grpc_server import RagServicer, start_grpc_server
from rag.outbound import open_outbound_session
from rag.providers import build_provider
from rag.retrieval.base import Retriever
from rag.retrieval.bm25 import Bm25Retriever
from rag.retrieval.dense import DenseRetriever, load_sentence_transformer
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import KnowledgeBaseSync

logger = logging.getLogger(__name__)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _sync_for(
    settings: Settings,
    core: CoreClient,
    index: ArticleIndex,
    on_ready: Callable[[], Awaitable[None]],
) -> KnowledgeBaseSync:
    return KnowledgeBaseSync(
        core,
        index,
        interval_seconds=settings.sync_interval_seconds,
        stream_timeout_seconds=settings.sync_stream_timeout_seconds,
        retry_initial_seconds=settings.sync_retry_initial_seconds,
        retry_max_seconds=settings.sync_retry_max_seconds,
        overlap_seconds=settings.sync_overlap_seconds,
        on_ready=on_ready,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect to core, serve gRPC and sync the knowledge base for the app's lifetime."""
    settings: Settings = app.state.settings
    token: str = app.state.service_token
    async with AsyncExitStack() as stack:
        # In each worker: every uvicorn worker runs the lifespan in its own process.
        stack.callback(gc.set_threshold, *gc.get_threshold())
        gc.set_threshold(*settings.gc_thresholds)
        channel = open_aio_channel(
            settings.core_grpc_target, token, default_timeout=settings.core_timeout_seconds
        )
        stack.push_async_callback(channel.close)
        http = await stack.enter_async_context(open_outbound_session(settings))
        preset = app.state.provider
        stack.callback(setattr, app.state, "provider", preset)
        app.state.provider = preset or build_provider(settings, http)
        core = CoreClient(channel, timeout_seconds=settings.core_timeout_seconds)

        async def synced() -> None:
            await grpc_server.mark_serving()

        # Before the gRPC server starts: a call is refused until this sync has finished once.
        sync = app.state.sync = _sync_for(settings, core, app.state.index, synced)
        servicer = RagServicer(
            app.state.index,
            app.state.provider,
            settings,
            app.state.tracer,
            app.state.faults,
            ready=lambda: sync.ready,
        )
        grpc_server = await start_grpc_server(settings.grpc_bind, token, servicer)
        stack.push_async_callback(grpc_server.stop, settings.grpc_shutdown_grace_seconds)
        sync_task = asyncio.create_task(sync.run(), name="knowledge-base-sync")
        stack.push_async_callback(_cancel, sync_task)
        app.state.core_client, app.state.grpc_port = core, grpc_server.port
        await _wait_for_first_sync(sync, settings.sync_startup_wait_seconds)
        yield


async def _wait_for_first_sync(sync: KnowledgeBaseSync, seconds: float) -> None:
    """Hold the server's start until the index holds the knowledge base, for at most ``seconds``.

    uvicorn accepts connections once the lifespan has started, so a restarted worker would
    otherwise answer from an empty index while its sync runs; beside a worker that is serving,
    the connections go to that one meanwhile. Past the wait (core slow or down) the process
    serves: ``/healthz`` and questions answer 503 ``not_ready`` until the sync is done.
    """
    try:
        await asyncio.wait_for(sync.wait_ready(), seconds)
    except TimeoutError:
        logger.warning(
            "serving before the first knowledge-base sync (%.1f s): questions get 503 "
            "not_ready until it finishes",
            seconds,
        )


def build_retriever(settings: Settings) -> Retriever:
    """Return the retriever named by ``RAG_RETRIEVER``."""
    if settings.retriever == "dense":
        return DenseRetriever(load_sentence_transformer(settings.dense_model))
    return Bm25Retriever()


# Readiness probes would otherwise fill the trace store with one trace every second.
UNTRACED_PATHS = frozenset({"/healthz"})


def server_telemetry(tracer_provider: trace.TracerProvider | None = None) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry support, as rag uses it: one server span per request.

    The span follows the stable HTTP conventions and names its route (``GET /api/search``,
    ``http.route``); it continues the caller's trace and baggage (the gateway's ``migration.*``
    decision). No span per dependency or serialisation step (``operation_spans``), and no metrics
    or log records: the project exports traces only. The contrib ASGI instrumentation made the same
    span for more CPU, and ran its request parsing with tracing off too: beside the stack, a
    search took 488 µs of CPU with it and 444 with this; 409 and 330 with tracing off.
    """
    return {
        "tracer_provider": tracer_provider,
        "tracing": True,
        "operation_spans": False,
        "metrics": False,
        "logs": False,
        "exclude": _untraced,
    }


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def create_app(
    settings: Settings | None = None,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    retriever: Retriever | None = None,
) -> FastAPI:
    """Build the app; refuse to (raise ``InvalidSecretError``) without a valid service token
    or identity key.

    ``tracer_provider`` defaults to the global one; ``retriever`` to the one the settings name.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="rag",
        version="0.1.0",
        summary="Search and chat over the knowledge base, taken over from the monolith.",
        lifespan=lifespan,
        telemetry=server_telemetry(tracer_provider),
        # Served by install_docs with Swagger UI's files from this package, not a CDN.
        docs_url=None,
    )
    app.state.settings = settings
    app.state.service_token = load_service_token()
    # The key core signs users' identities with: only what it signed counts as a user here.
    app.state.identity_secret = load_identity_secret()
    app.state.index = ArticleIndex(retriever=retriever or build_retriever(settings))
    app.state.tracer = trace.get_tracer("rag", tracer_provider=tracer_provider)
    app.state.faults = Faults(
        FaultFlags(
            settings.fault_error_rate,
            settings.fault_added_latency_seconds,
            settings.fault_token_delay_seconds,
        )
    )
    # A fault set at run time changes this object's flags, so HTTP, WebSocket and gRPC
    # (whose servicer the lifespan builds from it) all feel it; tests may replace it first.
    # Built by the lifespan (it may need the outbound HTTP client); tests may set one first.
    app.state.provider = None
    app.state.core_client = app.state.sync = None
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServiceHeaderMiddleware, service=SERVICE_NAME)
    include_routes(app)
    install_docs(app)
    return app
