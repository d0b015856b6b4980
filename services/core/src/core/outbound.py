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

A pooled client keeps no cookies. It calls on behalf of every user the process serves, so a
cookie one answer set would go out with every later call, whoever made it. httpx's jar also
cost every call work for nothing: to find that an answer set no cookie, it builds urllib's
request from the URL and headers and parses them again (core's hop to rag in process, under
cProfile: 0.27 of the 6.6 ms each call took).
"""

import atexit
import os
import threading
from collections.abc import Callable
from typing import Any

import httpx
from strangler_shared import IDLE_CONNECTION_SECONDS

KEEPALIVE_SECONDS = IDLE_CONNECTION_SECONDS

_lock = threading.Lock()
_clients: dict[str, tuple[int, httpx.Client]] = {}
_exit_hook_installed = False


class _NoCookies(httpx.Cookies):
    """A jar that stays empty: answers' cookies are dropped, so no call sends one."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep none of the cookies ``response`` sets."""


class ServiceClient(httpx.Client):
    """An ``httpx.Client`` for service-to-service calls: it keeps no cookies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty (httpx reads its jar through this property)."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("a service client keeps no cookies")


def new_client() -> httpx.Client:
    """Return a cookieless client whose idle connections end after ``KEEPALIVE_SECONDS``."""
    return ServiceClient(limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS))


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
