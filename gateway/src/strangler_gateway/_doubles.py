"""Stand-in upstreams for the gateway's tests: they answer, record what they got, or stream.

They stand for the services only where the gateway's own behaviour is under test (routing,
headers, fallback, mirroring, streaming through a reload); the cross-service suites use the real
services.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["EchoUpstream", "Received", "SseUpstream"]

_HOST = "127.0.0.1"

Received = dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's upstream pools expect
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK.
    disable_nagle_algorithm = True
    server: "_Server"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received: Received = {
            "upstream": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
        }
        self.server.owner.record(received)
        self.server.owner.respond(self, received)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: "_Upstream") -> None:
        super().__init__((_HOST, 0), _Handler)
        self.owner = owner
        self.name = owner.name

    def handle_error(self, request: Any, client_address: Any) -> None:
        # nginx closes an upstream connection whose answer it intercepted (a fallback) without
        # reading on: the peer's reset is expected, not a failure of the double.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Upstream:
    """An HTTP server on a free port of 127.0.0.1 that records every request it answers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(self)
        # A short poll interval, so stop() returns promptly.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        """Return ``host:port``, as an upstream server entry of the route table."""
        return f"{_HOST}:{self._server.server_address[1]}"

    def record(self, received: Received) -> None:
        """Keep what a request carried, for the test to inspect."""
        with self._lock:
            self.received.append(received)

    def requests(self) -> list[Received]:
        """Return a copy of the requests received so far."""
        with self._lock:
            return list(self.received)

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Received]:
        """Return the requests received once there are ``count`` of them (or at the deadline)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests()

    def respond(self, handler: _Handler, received: Received) -> None:
        """Answer one request."""
        raise NotImplementedError

    def start(self) -> "_Upstream":
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (connections to it are refused from now on)."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EchoUpstream(_Upstream):
    """Answers every request with its own name and what it received, with a settable status."""

    def __init__(self, name: str, *, status: int = 200) -> None:
        super().__init__(name)
        self.status = status

    def respond(self, handler: _Handler, received: Received) -> None:
        """Echo the request back as JSON."""
        data = json.dumps(received).encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-Service", self.name)
        # An upstream's own decision headers must never reach the client.
        handler.send_header("X-Served-By", "spoofed")
        handler.send_header("X-Migration-Fallback", "spoofed")
        handler.end_headers()
        if received["method"] != "HEAD":
            handler.wfile.write(data)


class SseUpstream(_Upstream):
    """Streams ``tokens`` SSE events, one every ``interval`` seconds, then a ``done`` event.

    Each chunk is flushed as it is produced, like rag's streamed answers, so a test can tell a
    buffering gateway (every event at the end) from a streaming one (the first event at once).
    After ``hold()``, streams keep producing tokens until ``release()``: a stream as long as the
    test needs, whatever the machine's speed.
    """

    def __init__(self, name: str, *, tokens: int = 5, interval: float = 0.2) -> None:
        super().__init__(name)
        self.tokens = tokens
        self.interval = interval
        self.completed = 0
        self._released = threading.Event()
        self._released.set()

    def hold(self) -> None:
        """Make streams go on past ``tokens`` until ``release()``."""
        self._released.clear()

    def release(self) -> None:
        """Let held streams end after their next token."""
        self._released.set()

    def respond(self, handler: _Handler, received: Received) -> None:
        """Stream the events with chunked transfer encoding."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("X-Service", self.name)
        handler.end_headers()
        self._chunk(handler, ": ping\n\n")
        sent = 0
        while sent < self.tokens or not self._released.is_set():
            time.sleep(self.interval)
            self._chunk(handler, f'event: token\ndata: {{"text": "t{sent}"}}\n\n')
            sent += 1
        self._chunk(handler, f'event: done\ndata: {{"tokens": {sent}}}\n\n')
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
        with self._lock:
            self.completed += 1

    @staticmethod
    def _chunk(handler: _Handler, text: str) -> None:
        data = text.encode()
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()
