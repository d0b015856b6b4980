"""Serve an ASGI app with uvicorn in a thread, on a socket the test bound first, for one test."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from strangler_testing.polling import wait_until
from strangler_testing.ports import HOST, listening_socket, port_of

__all__ = ["ServerStartError", "serve_in_thread", "wait_started"]


class ServerStartError(RuntimeError):
    """The server did not come up (its lifespan failed, or it took too long)."""


@contextmanager
def serve_in_thread(app: ASGIApp, *, start_seconds: float = 20.0) -> Iterator[str]:
    """Run ``app`` under uvicorn until the block ends; yield its base URL."""
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="auto",
        # Open streams get this long at shutdown, then they are cut.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    listener = listening_socket()
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="uvicorn-test-server", daemon=True
    )
    thread.start()
    try:
        wait_started(server, thread, start_seconds)
        yield f"http://{HOST}:{port_of(listener)}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def wait_started(server: uvicorn.Server, thread: threading.Thread, seconds: float) -> None:
    """Return once ``server`` (run by ``thread``) serves; raise ServerStartError otherwise."""
    if not thread.is_alive() and not server.started:
        raise ServerStartError("the server stopped while starting (see its log)")
    try:
        wait_until(
            lambda: server.started,
            timeout=seconds,
            every=0.01,
            what="the server to start",
            alive=lambda: server.started or thread.is_alive(),
        )
    except AssertionError as exc:
        raise ServerStartError(str(exc)) from exc
