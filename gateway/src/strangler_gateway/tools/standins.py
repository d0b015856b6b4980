"""Stand-in upstreams that answer and record what they got, for the benchmark and the tests.

The gateway benchmark (``strangler_gateway.tools.bench``) measures nginx, not the services, so it
puts these behind a real gateway; the gateway's own tests use them (through the dev-only
``strangler_testing`` toolkit) where the gateway's behaviour is under test. They ship with the
benchmark because the benchmark ships.
"""

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from strangler_gateway.errors import NginxError
from strangler_gateway.nginx.process import Nginx, apply

__all__ = [
    "CANARY_TABLE",
    "EchoUpstream",
    "Handler",
    "LocalGateway",
    "Received",
    "StandInUpstream",
    "local_gateway",
    "start_local_gateway",
]

_HOST = "127.0.0.1"

Received = dict[str, Any]

# The gateway benchmarks' route table: one route in canary between two stand-ins, at 0 % until a
# benchmark shifts it (the servers are replaced by the stand-ins' addresses). The load comes from
# one address, so the per-client rate limit is lifted: at its default (50 r/s) the gateway
# answered 99 % of a benchmark's requests 429.
CANARY_TABLE = """\
[gateway]
listen = "127.0.0.1:8080"
catch_all = "legacy"
rate_limit = "100000r/s"

[upstreams.legacy]
servers = ["127.0.0.1:8000"]

[upstreams.new]
servers = ["127.0.0.1:8001"]

[[routes]]
name = "search"
path = "/api/search"
legacy = "legacy"
new = "new"
mode = "canary"
percent = 0
"""


class Handler(BaseHTTPRequestHandler):
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

    def __init__(self, owner: "StandInUpstream") -> None:
        super().__init__((_HOST, 0), Handler)
        self.owner = owner
        self.name = owner.name

    def handle_error(self, request: Any, client_address: Any) -> None:
        # nginx closes an upstream connection whose answer it intercepted (a fallback) without
        # reading on: the peer's reset is expected, not a failure of the double.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandInUpstream:
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

    def respond(self, handler: Handler, received: Received) -> None:
        """Answer one request."""
        raise NotImplementedError

    def start(self) -> "StandInUpstream":
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


class EchoUpstream(StandInUpstream):
    """Answers every request with its own name and what it received, with a settable status."""

    def __init__(self, name: str, *, status: int = 200) -> None:
        super().__init__(name)
        self.status = status

    def respond(self, handler: Handler, received: Received) -> None:
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


@dataclass(frozen=True)
class LocalGateway:
    """A gateway nginx serving ``url`` (gRPC on ``grpc_target``) from the config at ``prefix``."""

    url: str
    prefix: Path
    table_path: Path
    nginx: Nginx
    grpc_target: str | None = None


def _port_picked_by_kernel() -> int:
    # nginx binds its own listen sockets and cannot be handed one: the best available is a port
    # the kernel just picked, and a retry by the caller when it was taken in between.
    with socket.socket() as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


def _start(table_path: Path, prefix: Path, upstreams: dict[str, list[str]],
           listen: str, grpc_listen: str) -> LocalGateway:  # fmt: skip
    result = apply(table_path, prefix, upstreams, listen=listen, grpc_listen=grpc_listen)
    serves_grpc = f"listen {grpc_listen};" in result.conf.read_text()
    nginx = Nginx(prefix)
    nginx.start()
    grpc_target = grpc_listen if serves_grpc else None
    return LocalGateway(f"http://{listen}", nginx.layout.prefix, table_path, nginx, grpc_target)


def start_local_gateway(
    table_path: Path,
    prefix: Path,
    upstreams: dict[str, list[str]],
    *,
    port: int | None = None,
    grpc_port: int | None = None,
    attempts: int = 3,
) -> LocalGateway:
    """Start nginx for ``table_path`` on local ports, ``upstreams`` replacing the servers.

    Ports not given are picked by the kernel; a start that lost its port to another process
    ("Address already in use") is retried on fresh ports.
    """
    for attempt in range(attempts):
        listen = f"{_HOST}:{port or _port_picked_by_kernel()}"
        grpc_listen = f"{_HOST}:{grpc_port or _port_picked_by_kernel()}"
        try:
            return _start(table_path, prefix, upstreams, listen, grpc_listen)
        except NginxError as exc:
            stolen = "Address already in use" in str(exc)
            if not stolen or attempt == attempts - 1 or (port and grpc_port):
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


@contextmanager
def local_gateway(
    table_path: Path,
    prefix: Path,
    upstreams: dict[str, list[str]],
    *,
    port: int | None = None,
    grpc_port: int | None = None,
) -> Iterator[LocalGateway]:
    """Run a gateway for ``table_path`` on local ports until the block ends."""
    gateway = start_local_gateway(table_path, prefix, upstreams, port=port, grpc_port=grpc_port)
    try:
        yield gateway
    finally:
        gateway.nginx.stop()
