"""The rag application: HTTP (FastAPI) and gRPC (RagService) over one in-memory index.

Why gRPC runs in the same event loop as HTTP: rag is one process holding one index in memory,
synced from core by one background task. Running the ``grpc.aio`` server inside the FastAPI
lifespan lets HTTP and gRPC read that same index (no second copy, no second sync, no IPC), and
makes start-up and shutdown one sequence: the lifespan opens the channel to core, starts the
gRPC server and the sync task, and on shutdown (SIGTERM via uvicorn) stops them in reverse order.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from strangler_shared import load_service_token, open_aio_channel

from rag.api.main import api_router
from rag.config import Settings, get_settings
from rag.core_client import CoreClient
from rag.errors import SERVICE_NAME, install_error_handlers
from rag.grpc_server import start_grpc_server
from rag.middleware import ServiceHeaderMiddleware
from rag.providers import ExtractiveProvider
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import KnowledgeBaseSync


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect to core, serve gRPC and sync the knowledge base for the app's lifetime."""
    settings: Settings = app.state.settings
    token: str = app.state.service_token
    async with AsyncExitStack() as stack:
        channel = open_aio_channel(
            settings.core_grpc_target, token, default_timeout=settings.core_timeout_seconds
        )
        stack.push_async_callback(channel.close)
        core = CoreClient(channel, timeout_seconds=settings.core_timeout_seconds)
        grpc_server = await start_grpc_server(
            settings.grpc_bind, token, app.state.index, settings.search_default_k
        )
        stack.push_async_callback(grpc_server.stop, settings.grpc_shutdown_grace_seconds)
        sync = KnowledgeBaseSync(
            core,
            app.state.index,
            interval_seconds=settings.sync_interval_seconds,
            stream_timeout_seconds=settings.sync_stream_timeout_seconds,
            retry_initial_seconds=settings.sync_retry_initial_seconds,
            retry_max_seconds=settings.sync_retry_max_seconds,
            on_ready=grpc_server.mark_serving,
        )
        sync_task = asyncio.create_task(sync.run(), name="knowledge-base-sync")
        stack.push_async_callback(_cancel, sync_task)
        app.state.core_client, app.state.sync, app.state.grpc_port = core, sync, grpc_server.port
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; refuse to (raise ``InvalidSecretError``) without a valid service token."""
    settings = settings or get_settings()
    app = FastAPI(
        title="rag",
        version="0.1.0",
        summary="Search and chat over the knowledge base, taken over from the monolith.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service_token = load_service_token()
    app.state.index = ArticleIndex()
    app.state.provider = ExtractiveProvider()
    app.state.core_client = app.state.sync = None
    app.dependency_overrides[get_settings] = lambda: settings
    install_error_handlers(app)
    app.add_middleware(ServiceHeaderMiddleware, service=SERVICE_NAME)
    app.include_router(api_router)
    return app
