"""Bounded HTTP load on 127.0.0.1: wrk when installed, else a Python asyncio client.

Both hold ``connections`` keep-alive connections busy for ``seconds`` and report completed
requests per second, p50/p99 latency and errors (non-2xx answers, resets, timeouts). The asyncio
client speaks just enough HTTP/1.1 (Content-Length and chunked bodies) for the services here; it
uses more CPU than wrk, so its figures are lower on a small machine, and the report says which
tool measured them.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Seconds past which a request counts as a timeout (the GenAI workload waits on a model).
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Request:
    """What every connection sends, again and again."""

    path: str
    method: str = "GET"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    completed: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    tool: str
    unfinished: int = 0

    @property
    def rps(self) -> float:
        """Completed (2xx) requests per second."""
        return self.completed / self.seconds if self.seconds else 0.0


def json_post(path: str, body: bytes, **headers: str) -> Request:
    """Return a JSON POST request."""
    return Request(path, "POST", body, {"Content-Type": "application/json", **headers})


def run(
    url: str,
    request: Request,
    connections: int,
    seconds: float,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    use_wrk: bool = True,
) -> LoadResult:
    """Load ``url`` with ``request`` from ``connections`` clients for ``seconds``."""
    from strangler_bench import wrk

    if use_wrk and wrk.available():
        return wrk.run(url, request, connections, seconds, timeout)
    return asyncio.run(_load(url, request, connections, seconds, timeout))


def run_rounds(
    url: str, request: Request, connections: int, rounds: int, deadline: float
) -> LoadResult:
    """Send ``rounds`` requests on each connection (closed loop), stopping at ``deadline`` s.

    Throughput is completed requests over the time from the first send to the last answer.
    A duration-bound load (wrk) loses the requests still in flight when its window closes: up
    to one latency's worth, which for a 1 s model call in a 5 s window is a fifth of the figure.
    Fixed rounds lose nothing, so latency-bound workloads use them; requests still waiting at the
    deadline (a server that fell far behind) are left out, and the deadline is the elapsed time.
    """
    return asyncio.run(_load(url, request, connections, deadline, deadline, rounds))


def _encode(host: str, request: Request) -> bytes:
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{key}: {value}" for key, value in request.headers.items()]
    if request.body or request.method == "POST":
        lines.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed before the answer")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    return status, close


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    last: float = 0.0
    cut: int = 0


async def _client(
    host: str,
    port: int,
    payload: bytes,
    deadline: float,
    timeout: float,
    tally: _Tally,
    rounds: int | None,
) -> None:
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    sent = 0
    while time.perf_counter() < deadline and (rounds is None or sent < rounds):
        sent += 1
        started = time.perf_counter()
        wait = min(timeout, deadline - started) if rounds else timeout
        try:
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            reader, writer = connection
            writer.write(payload)
            status, close = await asyncio.wait_for(_read_response(reader), max(0.001, wait))
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            # Cut by the deadline of a fixed-rounds load: unfinished, not failed.
            if isinstance(error, TimeoutError) and wait < timeout:
                tally.cut += 1
            else:
                tally.errors += 1
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        tally.last = time.perf_counter()
        if 200 <= status < 300:
            tally.latencies.append((tally.last - started) * 1000)
        else:
            tally.errors += 1
        if close:
            writer.close()
            connection = None
    if connection is not None:
        connection[1].close()


async def _load(
    url: str,
    request: Request,
    connections: int,
    seconds: float,
    timeout: float,
    rounds: int | None = None,
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = _encode(f"{host}:{port}", request)
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds
    clients = [
        _client(host, port, payload, deadline, timeout, tally, rounds) for _ in range(connections)
    ]
    await asyncio.gather(*clients)
    if rounds and not tally.cut and tally.last:
        elapsed = tally.last - started
    else:
        elapsed = min(time.perf_counter(), deadline) - started
    latencies = sorted(tally.latencies)
    return LoadResult(
        completed=len(latencies),
        errors=tally.errors,
        seconds=elapsed,
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies
        else float("nan"),
        tool="python-asyncio" + (" (fixed rounds)" if rounds else ""),
        unfinished=tally.cut,
    )
