"""The process's one outbound HTTP client, for providers that call a model server.

One ``httpx.AsyncClient`` per process, opened and closed by the lifespan, so every request
reuses one connection pool. Its limits are explicit: at a few hundred concurrent 1-4 s streams,
httpx's default pool (100 connections) queues requests behind each other, at about half the
ideal rate at 200 and with most calls failing at 400 (``python -m rag.bench.outbound`` measures
it; see also encode/httpx#3215); size it above the streams one process serves at once.
"""

import httpx

from rag.config import Settings


def open_outbound_client(settings: Settings) -> httpx.AsyncClient:
    """Return the shared client with the pool and time budgets from the settings."""
    limits = httpx.Limits(
        max_connections=settings.http_max_connections,
        max_keepalive_connections=settings.http_max_keepalive_connections,
    )
    timeout = httpx.Timeout(
        settings.provider_timeout_seconds,
        connect=settings.openai_connect_timeout_seconds,
        pool=settings.http_pool_timeout_seconds,
    )
    return httpx.AsyncClient(limits=limits, timeout=timeout)
