"""Run the comparator in tests: JSON upstream doubles and a comparator on a free port.

The comparator's behaviour lives in real HTTP (nginx's mirror, the upstream calls, the time
budget), so its tests and the gateway's mirror tests run it on a real socket with
``running_comparator`` and put ``JsonUpstream`` doubles behind it.
"""

import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from opentelemetry.trace import TracerProvider
from strangler_gateway.shadow.app import create_app
from strangler_gateway.shadow.config import ComparatorSettings, ShadowTarget, TargetTable
from strangler_gateway.shadow.store import connect

from strangler_testing.polling import DeadlineError, wait_until
from strangler_testing.ports import listening_socket, port_of
from strangler_testing.servers import wait_started

__all__ = [
    "JsonUpstream",
    "Received",
    "RunningComparator",
    "recorded_comparisons",
    "running_comparator",
    "wait_for_comparisons",
]

_HOST = "127.0.0.1"
# A body given as a function gets the number of the call (0, 1, 2...): answers can vary per call.
Body = Any | Callable[[int], Any]


@dataclass(frozen=True)
class Received:
    """One request an upstream double received, its body read to the end."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "_JsonServer"

    def _answer(self) -> None:
        # Read to the body's end, so the connection's next request starts where it should.
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        number = self.server.note(self, body)
        # Interruptible, so stop() does not wait for a slow answer to finish.
        if self.server.delay and self.server.stopping.wait(self.server.delay):
            return
        body = self.server.body(number) if callable(self.server.body) else self.server.body
        data = json.dumps(body).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _JsonServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: Body, status: int, delay: float) -> None:
        super().__init__((_HOST, 0), _JsonHandler)
        self.body, self.status, self.delay = body, status, delay
        self.stopping = threading.Event()
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def note(self, handler: BaseHTTPRequestHandler, body: bytes) -> int:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self.received.append(Received(handler.command, handler.path, headers, body))
            return len(self.received) - 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A load generator resets its connections when its time is up, mid-request or not.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class JsonUpstream:
    """An HTTP server answering every request with a JSON body, after an optional delay."""

    def __init__(self, body: Body, *, status: int = 200, delay: float = 0.0) -> None:
        self._server = _JsonServer(body, status, delay)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        """Return ``host:port``, as an upstream server entry of the route table."""
        return f"{_HOST}:{self._server.server_address[1]}"

    @property
    def received(self) -> list[Received]:
        """Return the requests received so far, oldest first."""
        return list(self._server.received)

    def start(self) -> "JsonUpstream":
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut short any delayed answer and close the socket."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "JsonUpstream":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def recorded_comparisons(db: Path) -> list[dict[str, Any]]:
    """Return the comparisons recorded in ``db``, oldest first (none while there is no file)."""
    if not db.is_file():
        return []
    connection = connect(db, read_only=True)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT * FROM comparisons ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # the comparator has not created its tables yet
        return []
    finally:
        connection.close()
    return [
        {**dict(row), "diff": json.loads(row["diff"]), "noise": json.loads(row["noise"])}
        for row in rows
    ]


def wait_for_comparisons(
    db: Path, *, at_least: int = 1, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Return the recorded comparisons once there are ``at_least``; raise after ``timeout``."""
    rows: list[dict[str, Any]] = []

    def enough() -> bool:
        rows[:] = recorded_comparisons(db)
        return len(rows) >= at_least

    try:
        wait_until(enough, timeout=timeout, what=f"{at_least} comparison(s) in {db}")
    except DeadlineError as exc:
        raise TimeoutError(f"{len(rows)} comparison(s) in {db} after {timeout:g} s") from exc
    return rows


@dataclass(frozen=True)
class RunningComparator:
    """A comparator serving ``url`` and recording into ``db``."""

    url: str
    db: Path

    @property
    def address(self) -> str:
        """Return ``host:port``, as the gateway's ``shadow`` upstream server entry."""
        return self.url.removeprefix("http://")

    def comparisons(self, *, at_least: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Return the recorded comparisons once there are ``at_least``."""
        return wait_for_comparisons(self.db, at_least=at_least, timeout=timeout)


@contextmanager
def running_comparator(
    targets: Mapping[str, ShadowTarget] | TargetTable,
    settings: ComparatorSettings,
    *,
    tracer_provider: TracerProvider | None = None,
    start_timeout: float = 10.0,
) -> Iterator[RunningComparator]:
    """Run the comparator on a free port of 127.0.0.1 in a thread; stop it on exit."""
    table = targets if isinstance(targets, TargetTable) else TargetTable(targets)
    app = create_app(settings, table, tracer_provider=tracer_provider)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    listener = listening_socket()
    port = port_of(listener)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_started(server, thread, start_timeout)
        yield RunningComparator(f"http://{_HOST}:{port}", settings.db)
    finally:
        server.should_exit = True
        thread.join(timeout=start_timeout)
        listener.close()
