"""One pooled outbound ``httpx.Client`` per process and purpose, created on first use.

Creating a client builds an SSL context and opens a new connection on its first request, about
25 ms here: more than the call to rag it was made for. Each gunicorn worker therefore keeps one
client per purpose (rag, the model server) and reuses its keep-alive connections across
requests and threads (``httpx.Client`` is thread-safe). It is created lazily, in the worker,
after the fork: the tracing set-up in ``post_fork`` has instrumented httpx by then, and no
connection is shared with the master. A client found to belong to another process (made before
a fork) is replaced, never used. Clients are closed when the process exits.

A pooled connection idle for ``KEEPALIVE_SECONDS`` is closed rather than reused, so core, not
rag's or a model's server, ends it (``strangler_shared.IDLE_CONNECTION_SECONDS``); httpx's own
default, 5 s, ties with uvicorn's.
"""

import atexit
import os
import threading
from collections.abc import Callable

import httpx
from strangler_shared import IDLE_CONNECTION_SECONDS

KEEPALIVE_SECONDS = IDLE_CONNECTION_SECONDS

_lock = threading.Lock()
_clients: dict[str, tuple[int, httpx.Client]] = {}
_exit_hook_installed = False


def new_client() -> httpx.Client:
    """Return a client whose idle connections are dropped after ``KEEPALIVE_SECONDS``."""
    return httpx.Client(limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS))


def pooled_client(purpose: str, factory: Callable[[], httpx.Client] = new_client) -> httpx.Client:
    """Return this process's client for ``purpose``, making it with ``factory`` the first time."""
    pid = os.getpid()
    with _lock:
        entry = _clients.get(purpose)
        if entry is not None and entry[0] == pid:
            return entry[1]
        client = factory()
        _clients[purpose] = (pid, client)
        _install_exit_hook()
        return client


def close_clients() -> None:
    """Close this process's clients and their connections (at exit, or between tests)."""
    with _lock:
        owned = [client for pid, client in _clients.values() if pid == os.getpid()]
        _clients.clear()
    for client in owned:
        client.close()


def _install_exit_hook() -> None:
    global _exit_hook_installed
    if not _exit_hook_installed:
        atexit.register(close_clients)
        _exit_hook_installed = True
