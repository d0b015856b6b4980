"""Bounded HTTP load on 127.0.0.1: wrk when installed, else a Python asyncio client.

Both hold ``connections`` keep-alive connections busy for ``seconds`` and report completed
requests per second, p50/p99 latency and errors (non-2xx answers, resets, timeouts). The asyncio
client speaks just enough HTTP/1.1 (Content-Length and chunked bodies) for the services here; it
uses more CPU than wrk, so its figures are lower on a small machine, and the report says which
tool measured them.
"""

import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

# Seconds past which a request counts as a timeout (the GenAI workload waits on a model).
DEFAULT_TIMEOUT = 30.0
# Requests per side of one taking-turns comparison (:func:`alternating_p50s`), after a tenth more.
ONE_AT_A_TIME = 200


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
    outside_window: int = 0
    """2xx answers of a fixed-rounds run that came before or after its steady window: served,
    and paid for in the servers' CPU time, but not counted in ``completed``."""
    too_fast: int = 0
    """2xx answers faster than the run's floor, counted in ``errors``: they skipped the work the
    load waits on (see ``run_rounds``)."""

    @property
    def rps(self) -> float:
        """Completed (2xx) requests per second."""
        return self.completed / self.seconds if self.seconds else 0.0

    @property
    def answered(self) -> int:
        """Every 2xx answer of the run, in the steady window or not (what CPU time is per)."""
        return self.completed + self.outside_window


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
    pause: float = 0.0,
) -> LoadResult:
    """Load ``url`` with ``request`` from ``connections`` clients for ``seconds``.

    With a ``pause``, each connection waits a random time after an answer before it sends again,
    ``pause`` seconds on average (uniform from 0 to twice that, so the connections do not fall
    into step and arrive as one burst), which caps the offered rate at ``connections / pause``:
    latency measured below the server's capacity, not the queue of a saturated one. The pause is
    not part of any latency.
    """
    from strangler_bench import wrk

    if use_wrk and wrk.available():
        return wrk.run(url, request, connections, seconds, timeout, pause=pause)
    return asyncio.run(_load(url, request, connections, seconds, timeout, pause=pause))


def run_together(
    targets: Sequence[tuple[str, Request]],
    connections: int,
    seconds: float,
    *,
    use_wrk: bool = True,
    pause: float = 0.0,
) -> list[LoadResult]:
    """Load every ``(url, request)`` at the same time, each as :func:`run` would; in order.

    Loads run one after the other meet a machine that has moved in between (another process's
    burst, the CPU's clock, a cache); loads run at once meet the same one, so the difference of
    their figures is the difference of their targets. Each load offers ``connections / pause``
    on its own: the server behind several of them sees their sum.
    """
    with ThreadPoolExecutor(len(targets)) as pool:
        runs = [
            pool.submit(run, url, request, connections, seconds, use_wrk=use_wrk, pause=pause)
            for url, request in targets
        ]
        return [future.result() for future in runs]


def alternating_p50s(sides: Sequence[tuple[str, Request]], rounds: int) -> list[float]:
    """Return the p50 ms of each ``(url, request)``, sent one at a time, the sides taking turns.

    One kept-alive connection per side, one request at a time, the sides in turn (and each round
    begun by the next side), so all meet the same machine and nothing queues: the difference of
    two p50s is what one side adds to a single request. Measured one after the other instead,
    each side's p50 at one client moved by more than a millisecond from one run to the next on a
    2-core machine. A tenth of ``rounds`` more go first as a warm-up.
    """
    warm = max(1, rounds // 10)
    times: list[list[float]] = [[] for _ in sides]
    with ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(timeout=DEFAULT_TIMEOUT)) for _ in sides]
        order = list(zip(clients, sides, times, strict=True))
        for i in range(warm + rounds):
            first = i % len(order)
            for client, (url, request), kept in order[first:] + order[:first]:
                sent = time.perf_counter()
                response = client.request(
                    request.method,
                    url + request.path,
                    content=request.body or None,
                    headers=request.headers,
                )
                elapsed = (time.perf_counter() - sent) * 1000
                response.raise_for_status()
                if i >= warm:
                    kept.append(elapsed)
    return [statistics.median(kept) for kept in times]


def run_rounds(
    url: str,
    request: Request,
    connections: int,
    rounds: int,
    deadline: float,
    *,
    ramp: float = 0.0,
    floor: float = 0.0,
) -> LoadResult:
    """Send ``rounds`` requests on each connection (closed loop), stopping at ``deadline`` s.

    Connections start one after another, spread evenly over ``ramp`` seconds, as users arrive.
    Started in the same millisecond against a server with a fixed latency, a closed loop stays
    in step: every round lands as one burst of ``connections`` requests, and the last request of
    each burst waits behind the CPU work of all the others, so p99 measures the load generator's
    herd rather than the server. Give ``ramp`` one model latency to spread the arrivals over a
    whole round.

    Throughput and latency come from the steady window, when every connection is busy: from the
    first answer after the ramp to the first connection's last answer (a connection that is still
    waiting at the deadline is busy until then). A duration-bound load (wrk) loses the requests
    still in flight when its window closes, up to one latency's worth, which for a 1 s model call
    in a 5 s window is a fifth of the figure; a window closed while every connection still has work
    loses nothing, and neither the ramp nor the drain after it dilutes the rate. Requests still
    waiting at the deadline (a server that fell far behind) are counted as cut. With a single round
    there is no steady window, and the whole run counts.

    A 2xx answer faster than ``floor`` seconds is an error (``too_fast``), not a completion: with
    a floor under the model's latency, an answer that never waited on the model (a chat answered
    from an empty index in 1 ms) fails the run's zero-errors check instead of passing as a fast
    success; such answers also end their connection's rounds early, and with them the window.
    """
    return asyncio.run(
        _load(url, request, connections, deadline, deadline, rounds, ramp, floor=floor)
    )


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
    answers: list[tuple[float, float]] = field(default_factory=list)  # (finished at, latency ms)
    ends: list[float] = field(default_factory=list)  # when each connection had no more work
    errors: int = 0
    too_fast: int = 0  # 2xx answers under the floor, also counted in errors
    cut: int = 0


async def _client(
    host: str,
    port: int,
    payload: bytes,
    deadline: float,
    timeout: float,
    tally: _Tally,
    rounds: int | None,
    start_at: float,
    pause: float,
    floor: float,
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
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
            if connection is not None:
                connection[1].close()
            connection = None
            # Cut by the deadline of a fixed-rounds load: unfinished, not failed; the connection
            # was busy until the deadline.
            if isinstance(error, TimeoutError) and wait < timeout:
                tally.cut += 1
                break
            tally.errors += 1
            continue
        finished = time.perf_counter()
        if not 200 <= status < 300:
            tally.errors += 1
        elif finished - started < floor:
            tally.errors += 1
            tally.too_fast += 1
        else:
            tally.answers.append((finished, (finished - started) * 1000))
        if close:
            writer.close()
            connection = None
        if pause:
            wait = random.uniform(0, 2 * pause)  # noqa: S311 (load spacing, not a secret)
            await asyncio.sleep(min(wait, max(0.0, deadline - time.perf_counter())))
    tally.ends.append(min(time.perf_counter(), deadline))
    if connection is not None:
        connection[1].close()


async def _load(
    url: str,
    request: Request,
    connections: int,
    seconds: float,
    timeout: float,
    rounds: int | None = None,
    ramp: float = 0.0,
    pause: float = 0.0,
    *,
    floor: float = 0.0,
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = _encode(f"{host}:{port}", request)
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds
    starts = [started + ramp * index / connections for index in range(connections)]
    clients = [
        _client(host, port, payload, deadline, timeout, tally, rounds, start, pause, floor)
        for start in starts
    ]
    await asyncio.gather(*clients)
    begin, end = started, min(time.perf_counter(), deadline)
    if rounds:
        begin, end = _steady_window(tally, rounds, started + ramp, started, deadline)
    latencies = _latencies_within(tally, begin, end)
    return LoadResult(
        completed=len(latencies),
        errors=tally.errors,
        seconds=end - begin,
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies
        else float("nan"),
        tool="python-asyncio" + (" (fixed rounds)" if rounds else ""),
        unfinished=tally.cut,
        outside_window=len(tally.answers) - len(latencies),
        too_fast=tally.too_fast,
    )


def _latencies_within(tally: _Tally, begin: float, end: float) -> list[float]:
    """Return, sorted, the latencies of the answers that came in (begin, end]."""
    return sorted(ms for finished, ms in tally.answers if begin < finished <= end)


def _steady_window(
    tally: _Tally, rounds: int, ramped: float, started: float, deadline: float
) -> tuple[float, float]:
    """Return the span when every connection was busy, else the whole run.

    The span is half-open, (begin, end]: the answers counted are those after ``begin`` up to
    ``end``. It ends with the last answer of the connection that finished first, and starts
    with the first answer after the ramp, which in a closed loop is that same connection's
    (the first to start is the first to finish). Counted with both ends in, that connection
    would give one answer more than the span holds rounds: 11 answers in one 1 s round of 10
    connections, 110 % of the ideal at the smoke test's settings (0.7 % at 50 connections and
    4 rounds). Without a ramp it starts there too, not at the first send: a span from the first
    send holds one latency with no answer in it, and all connections but the first finish after
    it closes (500 connections, 4 rounds of 1 s: 1,501 answers in 4 s, 75 % of what they got).
    """
    end = min(tally.ends, default=deadline)
    after_ramp = [finished for finished, _ in tally.answers if ramped <= finished <= end]
    # One round ends as the ramp does: whatever falls between them is no steady state.
    if rounds > 1 and end > ramped and len(after_ramp) > 1:
        return min(after_ramp), end
    last = max((finished for finished, _ in tally.answers), default=deadline)
    return started, deadline if tally.cut else last
