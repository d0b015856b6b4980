"""The process's one outbound HTTP session, for providers that call a model server.

One ``aiohttp.ClientSession`` per process, opened and closed by the lifespan, so every request
reuses one connection pool. aiohttp, not httpx: at 200 and 500 concurrent 1-4 s streamed model
calls, httpx's ``AsyncClient`` spent about 20 ms of CPU per call in its connection pool
(encode/httpx#3215) and reached 55 % and 31 % of the ideal rate, where an aiohttp session
spent 1.6-2.0 ms and reached 97 % and 94 % against the same model server (``python -m
rag.bench.outbound`` measures both). The pool is sized above the streams one process serves at
once.

The session is made after tracing is set up: the official aiohttp-client instrumentation adds
its tracing to each session as it is created, so every model call is a client span.
"""

import aiohttp

from rag.config import Settings


def open_outbound_session(settings: Settings) -> aiohttp.ClientSession:
    """Return the shared session with the pool and time budgets from the settings.

    No total timeout: a streamed answer may take long, and the answer pipeline already times
    out a model that stays silent (per chunk). ``connect`` bounds the wait for a pooled
    connection plus its set-up, ``sock_connect`` the set-up alone. A connection idle longer
    than ``http_keepalive_seconds`` is closed rather than reused, so rag, not the model server,
    ends an idle connection: the server can then never close one under a request in flight.
    """
    connector = aiohttp.TCPConnector(
        limit=settings.http_max_connections,
        limit_per_host=0,
        keepalive_timeout=settings.http_keepalive_seconds,
    )
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=settings.http_pool_timeout_seconds + settings.openai_connect_timeout_seconds,
        sock_connect=settings.openai_connect_timeout_seconds,
        sock_read=settings.provider_timeout_seconds,
    )
    # The session never reads proxy settings or .netrc from the environment (trust_env off).
    return aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False)
