"""What each rag server process sets up before it serves: tracing, logs, the instrumented app.

Split from the entrypoint because with ``RAG_WORKERS`` above one, uvicorn starts each worker as a
new interpreter that builds its own app through :func:`worker_app`: tracing (its exporter thread
and batch queue) must be set up in the process that serves, never inherited across a fork.
"""

import atexit
import logging
from typing import Literal

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from strangler_shared import configure_logging, setup_tracing, shutdown_tracing

from rag.main import create_app

# Readiness probes would otherwise fill the trace store with one trace every second.
UNTRACED_URLS = "/healthz"
# The ASGI instrumentation's default adds a child span per message sent or received (three per
# plain response, one per event of a stream): none of them says more than the server span and
# rag's own stream span, and together they were most of the tracing cost per request.
EXCLUDED_SPANS: list[Literal["receive", "send"]] = ["send", "receive"]


def instrument(app: FastAPI, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Give the app the official FastAPI instrumentation: one server span per request."""
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=EXCLUDED_SPANS,
        tracer_provider=tracer_provider,
    )


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
    """Return the instrumented app for this process (tracing must be set up already)."""
    app = create_app()
    instrument(app)
    return app


def worker_app() -> FastAPI:
    """Set up one worker process and return its app (uvicorn's factory under RAG_WORKERS > 1)."""
    set_up_process()
    # The supervisor stops each worker with SIGTERM; uvicorn then returns normally, so the
    # spans still buffered are flushed as the interpreter exits.
    atexit.register(shutdown_tracing)
    return build_app()
