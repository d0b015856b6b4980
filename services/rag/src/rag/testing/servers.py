"""Serve an ASGI app with uvicorn on a free 127.0.0.1 port, in a thread, for one test."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


class ServerStartError(RuntimeError):
    """The server did not come up (its lifespan failed, or it took too long)."""


@contextmanager
def serve_in_thread(app: ASGIApp, *, start_seconds: float = 20.0) -> Iterator[str]:
    """Run ``app`` under uvicorn until the block ends; yield its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan="auto",
        # Open streams get this long at shutdown, then they are cut.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test-server", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, start_seconds)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_started(server: uvicorn.Server, thread: threading.Thread, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not server.started:
        if not thread.is_alive():
            raise ServerStartError("the server stopped while starting (see its log)")
        if time.monotonic() > deadline:
            raise ServerStartError(f"the server did not start within {seconds} s")
        time.sleep(0.01)
