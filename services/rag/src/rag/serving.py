"""What each rag server process sets up before it serves: tracing, logs, the app.

Split from the entrypoint because with ``RAG_WORKERS`` above one, uvicorn starts each worker as a
new interpreter that builds its own app through :func:`worker_app`: tracing (its exporter thread
and batch queue) must be set up in the process that serves, never inherited across a fork.
"""

import atexit
import logging

from fastapi import FastAPI
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from strangler_shared import configure_logging, setup_tracing, shutdown_tracing

from rag.main import create_app


def set_up_process() -> None:
    """Install this process's tracer provider and structured logs (call once, first)."""
    # The gRPC instrumentation patches grpc.aio.server: it must be in place before the lifespan
    # creates the RagService server.
    setup_tracing("rag")
    # Model calls go out through aiohttp (rag.outbound): a client span each, with the trace
    # context in their headers. Before the lifespan creates the session, which it patches.
    AioHttpClientInstrumentor().instrument()
    configure_logging("rag")
    # bm25s sets its own logger to DEBUG on import; its per-rebuild lines are noise here.
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def build_app() -> FastAPI:
    """Return the app for this process (tracing must be set up already).

    FastAPI's own telemetry makes its server spans (``rag.main.server_telemetry``) with the
    tracer provider ``set_up_process`` installed.
    """
    return create_app()


def worker_app() -> FastAPI:
    """Set up one worker process and return its app (uvicorn's factory under RAG_WORKERS > 1)."""
    set_up_process()
    # The supervisor stops each worker with SIGTERM; uvicorn then returns normally, so the
    # spans still buffered are flushed as the interpreter exits.
    atexit.register(shutdown_tracing)
    return build_app()
