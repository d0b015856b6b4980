"""Run a real gateway in tests: free ports, stand-in upstreams and a gateway that always stops.

The gateway's behaviour lives in nginx, so its tests send real HTTP through a real nginx. The
gateway's own tests put ``EchoUpstream``, ``SseUpstream`` (a streamed answer) and recording
servers behind it; the cross-service suites put the real services behind it with
``running_gateway`` and the same route table the stack uses.
"""

import http.client
import json
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strangler_gateway._doubles import EchoUpstream, Received, SseUpstream
from strangler_gateway.nginx.process import Nginx, apply

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

_HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


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
class RunningGateway:
    """A gateway nginx serving ``url`` (gRPC on ``grpc_target``) from the config at ``prefix``."""

    url: str
    prefix: Path
    table_path: Path
    nginx: Nginx
    grpc_target: str | None = None

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
    """Run a gateway for ``table_path`` on free ports, with ``upstreams`` replacing servers."""
    listen = f"{_HOST}:{port or free_port()}"
    grpc_listen = f"{_HOST}:{grpc_port or free_port()}"
    result = apply(table_path, prefix, upstreams, listen=listen, grpc_listen=grpc_listen)
    serves_grpc = f"listen {grpc_listen};" in result.conf.read_text()
    nginx = Nginx(prefix)
    nginx.start()
    try:
        yield RunningGateway(
            f"http://{listen}",
            nginx.layout.prefix,
            table_path,
            nginx,
            grpc_target=grpc_listen if serves_grpc else None,
        )
    finally:
        nginx.stop()
