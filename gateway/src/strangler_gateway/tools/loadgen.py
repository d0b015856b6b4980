"""A bounded HTTP load on keep-alive connections, to watch the gateway while traffic moves.

A few client threads each keep one connection open and send requests until a shared total is
reached. Like every HTTP client (RFC 9112 §9.3.1: browsers, curl, urllib3, Go's net/http), a
client retries an idempotent request once on a fresh connection when a *reused* connection is
closed before any byte of the answer: that is how a keep-alive connection ends when an nginx worker
retires after a reload, and it is not a failed request. Anything else is a failure: a fresh
connection refused or reset, a timeout, a second close, or a status other than the expected one.
"""

import http.client
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Load", "LoadResult"]

# A reused connection the server closed before answering shows up as one of these.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
Headers = Callable[[int], Mapping[str, str]]


@dataclass
class LoadResult:
    """What a load saw: answers, failures (with why), retries on stale connections, latencies."""

    ok: int = 0
    failures: list[str] = field(default_factory=list)
    stale_retries: int = 0
    served_by: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Return the number of requests finished, answered or failed."""
        return self.ok + len(self.failures)


class Load:
    """``total`` GET requests to ``path`` from ``threads`` keep-alive clients, in the background."""

    def __init__(
        self,
        url: str,
        path: str,
        *,
        total: int,
        threads: int = 4,
        headers: Headers = lambda number: {},
        expect_status: int = 200,
        timeout: float = 10.0,
    ) -> None:
        self._address = url.removeprefix("http://")
        self._path = path
        self._total = total
        self._headers = headers
        self._expect = expect_status
        self._timeout = timeout
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self.result = LoadResult()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(threads)]

    def start(self) -> "Load":
        """Start the clients."""
        for thread in self._threads:
            thread.start()
        return self

    def wait_until(self, done: int, *, timeout: float = 60.0) -> None:
        """Return once ``done`` requests have finished; raise TimeoutError at the deadline."""
        deadline = time.monotonic() + timeout
        while self.result.done < min(done, self._total):
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.result.done} of {done} requests done in {timeout}s")
            time.sleep(0.01)

    def join(self, *, timeout: float = 120.0) -> LoadResult:
        """Wait for every request to finish and return the result."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise TimeoutError(f"the load did not finish within {timeout}s")
        return self.result

    def _next(self) -> int | None:
        number = next(self._numbers)
        return number if number < self._total else None

    def _client(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while (number := self._next()) is not None:
            connection = self._send(connection, number)
        if connection is not None:
            connection.close()

    def _send(
        self, connection: http.client.HTTPConnection | None, number: int
    ) -> http.client.HTTPConnection | None:
        started = time.perf_counter()
        reused = connection is not None
        try:
            connection = connection or self._connect()
            status, side, keep = self._exchange(connection, number)
        except _STALE as exc:
            if not reused:
                self._fail(connection, f"request {number}: {exc!r} on a new connection")
                return None
            self._count_retry()
            return self._send(None, number)
        except (OSError, http.client.HTTPException) as exc:
            self._fail(connection, f"request {number}: {exc!r}")
            return None
        if status != self._expect:
            self._fail(connection, f"request {number}: status {status}")
            return None
        self._record(side, (time.perf_counter() - started) * 1000)
        if keep:
            return connection
        connection.close()
        return None

    def _connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self._address, timeout=self._timeout)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _exchange(
        self, connection: http.client.HTTPConnection, number: int
    ) -> tuple[int, str, bool]:
        connection.request("GET", self._path, headers=dict(self._headers(number)))
        response = connection.getresponse()
        response.read()
        keep = response.getheader("Connection", "").lower() != "close"
        return response.status, response.getheader("X-Served-By", ""), keep

    def _fail(self, connection: http.client.HTTPConnection | None, why: str) -> None:
        if connection is not None:
            connection.close()
        with self._lock:
            self.result.failures.append(why)

    def _count_retry(self) -> None:
        with self._lock:
            self.result.stale_retries += 1

    def _record(self, side: str, latency_ms: float) -> None:
        with self._lock:
            self.result.ok += 1
            self.result.served_by[side] += 1
            self.result.latencies_ms.append(latency_ms)
