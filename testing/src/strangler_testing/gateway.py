"""Run a real gateway in tests: stand-in upstreams and a gateway that always stops.

The gateway's behaviour lives in nginx, so its tests send real HTTP through a real nginx. The
gateway's own tests put ``EchoUpstream``, ``SseUpstream`` (a streamed answer) and recording
servers behind it; the cross-service suites put the real services behind it with
``running_gateway`` and the same route table the stack uses.
"""

import http.client
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strangler_gateway.tools.standins import (
    EchoUpstream,
    Handler,
    LocalGateway,
    Received,
    StandInUpstream,
    start_local_gateway,
)

from strangler_testing.ports import picked_port

__all__ = [
    "EchoUpstream",
    "Received",
    "Reply",
    "RunningGateway",
    "SseUpstream",
    "fetch",
    "free_port",
    "read_access_log",
    "running_gateway",
]

# A port for a server that cannot be handed a socket (nginx); see strangler_testing.ports.
free_port = picked_port


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


def read_access_log(path: Path) -> list[dict[str, Any]]:
    """Return the parsed lines of a gateway access log (none if it does not exist yet)."""
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class RunningGateway(LocalGateway):
    """A gateway nginx serving ``url`` (gRPC on ``grpc_target``), with a client and its log."""

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
            entries = read_access_log(self.access_log)
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
    grpc_port: int | None = None,
) -> Iterator[RunningGateway]:
    """Run a gateway for ``table_path`` on fresh ports, with ``upstreams`` replacing servers."""
    local = start_local_gateway(table_path, prefix, upstreams, port=port, grpc_port=grpc_port)
    try:
        yield RunningGateway(
            local.url, local.prefix, local.table_path, local.nginx, grpc_target=local.grpc_target
        )
    finally:
        local.nginx.stop()


class SseUpstream(StandInUpstream):
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

    def respond(self, handler: Handler, received: Received) -> None:
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
    def _chunk(handler: Handler, text: str) -> None:
        data = text.encode()
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()
