"""Run a real gateway in tests: free ports, stand-in upstreams and a gateway that always stops.

The gateway's behaviour lives in nginx, so its tests send real HTTP through a real nginx. The
gateway's own tests put ``EchoUpstream`` servers behind it; the cross-service suites put the real
services behind it with ``running_gateway`` and the same route table the stack uses.
"""

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from strangler_gateway.nginx import Nginx, apply

__all__ = ["EchoUpstream", "Reply", "RunningGateway", "fetch", "free_port", "running_gateway"]

_HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's upstream pools expect
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK.
    disable_nagle_algorithm = True
    server: "_EchoServer"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = {
            "upstream": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Service", self.server.name)
        # An upstream's own decision headers must never reach the client.
        self.send_header("X-Served-By", "spoofed")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__((_HOST, 0), _EchoHandler)
        self.name = name


class EchoUpstream:
    """An HTTP server answering every request with its own name and what it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._server = _EchoServer(name)
        # A short poll interval, so stop() returns promptly.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        """Return ``host:port``, as an upstream server entry of the route table."""
        return f"{_HOST}:{self._server.server_address[1]}"

    def start(self) -> "EchoUpstream":
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "EchoUpstream":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Reply:
    """An HTTP response, read completely."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


def fetch(
    url: str,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> Reply:
    """Send one request to ``url`` + ``path`` (over ``connection`` if given, to reuse it)."""
    conn = connection or http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        data = response.read()
        lowered = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, lowered, data)
    finally:
        if connection is None:
            conn.close()


@dataclass(frozen=True)
class RunningGateway:
    """A gateway nginx serving ``url`` from the config under ``prefix``."""

    url: str
    prefix: Path
    table_path: Path
    nginx: Nginx

    def fetch(self, path: str, **options: Any) -> Reply:
        """Send one request through the gateway."""
        return fetch(self.url, path, **options)

    @property
    def access_log(self) -> Path:
        return self.nginx.layout.access_log

    def access_log_entries(self, *, at_least: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Return the parsed access-log lines once there are ``at_least`` of them.

        nginx writes a request's line after sending its response, so a client that has its answer
        may still be ahead of the log.
        """
        deadline = time.monotonic() + timeout
        while True:
            text = self.access_log.read_text() if self.access_log.exists() else ""
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
            if len(entries) >= at_least or time.monotonic() > deadline:
                return entries
            time.sleep(0.02)


@contextmanager
def running_gateway(
    table_path: Path,
    prefix: Path,
    upstreams: dict[str, list[str]],
    *,
    port: int | None = None,
) -> Iterator[RunningGateway]:
    """Run a gateway for ``table_path`` on a free port, with ``upstreams`` replacing servers."""
    listen = f"{_HOST}:{port or free_port()}"
    apply(table_path, prefix, upstreams, listen=listen)
    nginx = Nginx(prefix)
    nginx.start()
    try:
        yield RunningGateway(f"http://{listen}", nginx.layout.prefix, table_path, nginx)
    finally:
        nginx.stop()
