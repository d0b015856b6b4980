"""Whether the outbound client keeps up with hundreds of concurrent 1-4 s model calls.

rag's providers share one ``aiohttp.ClientSession`` (``rag.outbound``). It replaced an
``httpx.AsyncClient``: with httpx's default pool (100 connections, 20 kept alive) the 101st
concurrent call waits for a free connection and past the pool timeout fails, and even with a
pool sized for the load, httpx's own per-call cost grows with the connections it holds
(encode/httpx#3215). This measures the three side by side: the same streamed chat-completions
call, through httpx with its default pool, httpx with a pool of RAG_HTTP_MAX_CONNECTIONS, and
rag's real ``openai`` provider on the session rag opens, against a local model server
(``rag.bench.model_server``, in its own process) that takes 1-4 s to its first token. For each
client and concurrency it prints the wall time against the ideal one (every call waiting only
for the model), how long calls spent beyond the model's own delay, and the client's CPU time
per call.

    uv run python -m rag.bench.outbound --concurrency 100 200 400
"""

import argparse
import asyncio
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from rag.bench.model_server import FakeChatCompletions
from rag.config import Settings, get_settings
from rag.outbound import open_outbound_session
from rag.providers import OpenAICompatibleProvider, Passage, ProviderError
from rag.retrieval.articles import Article

# httpx.AsyncClient() without limits: 100 connections, 20 kept alive.
HTTPX_DEFAULT_POOL = (100, 20)
_PASSAGES = [Passage(1, Article(1, "refund", "Refunds", "Annual plans are refunded in full."))]
_TOKENS = [f"token{number} " for number in range(20)]


class UpstreamStartError(RuntimeError):
    """The local model server did not come up."""


def upstream_app() -> Starlette:
    """Return the model server the benchmark calls (run by uvicorn in its own process)."""
    return FakeChatCompletions(tokens=_TOKENS).app()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    probe = {"model": "probe", "stream": True, "messages": []}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UpstreamStartError(f"the model server exited with {process.returncode}")
        try:
            if httpx.post(f"{base_url}/v1/chat/completions", json=probe).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise UpstreamStartError(f"the model server did not answer within {seconds} s")


@contextmanager
def running_upstream(start_seconds: float = 30.0) -> Iterator[str]:
    """Run the model server in a child process until the block ends; yield its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "rag.bench.outbound:upstream_app"]
    options = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    # Its own process, so serving does not take the client's CPU (the thing being measured).
    process = subprocess.Popen([*command, *options, "--backlog", "4096"])
    try:
        _wait_ready(process, f"http://127.0.0.1:{port}", start_seconds)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Pool:
    """An outbound client and its pool: ``library`` is "httpx" or "aiohttp"."""

    name: str
    library: str
    max_connections: int
    max_keepalive: int | None = None

    def label(self) -> str:
        """Return the client's name with its pool."""
        keep = "" if self.max_keepalive is None else f"/{self.max_keepalive}"
        return f"{self.name} ({self.max_connections}{keep})"


@dataclass(frozen=True)
class Row:
    """What one client did at one concurrency."""

    pool: Pool
    concurrency: int
    overheads: list[float]
    failures: Counter[str]
    wall: float
    ideal: float
    cpu_seconds: float = 0.0

    def cells(self) -> list[str]:
        """Return the row's table cells."""
        failed = sum(self.failures.values())
        why = ", ".join(f"{count} {name}" for name, count in self.failures.most_common())
        calls = len(self.overheads) + failed
        return [
            self.pool.label(),
            str(self.concurrency),
            str(calls),
            f"{failed} ({why})" if failed else "0",
            f"{self.wall:.1f}",
            f"{self.ideal:.1f}",
            f"{self.ideal / self.wall:.0%}",
            f"{percentile(self.overheads, 0.5):.2f}",
            f"{percentile(self.overheads, 0.99):.2f}",
            f"{self.cpu_seconds * 1000 / calls:.2f}" if calls else "-",
        ]


def percentile(values: Sequence[float], share: float) -> float:
    """Return the value below which ``share`` of the values lie (nearest rank; NaN if none)."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, round(share * (len(ranked) - 1)))]


Call = Callable[[str, float], Awaitable[float | str]]


def _url(base_url: str, delay: float) -> str:
    return f"{base_url}/after/{delay:.3f}/v1"


async def _timed(delay: float, call: Awaitable[object]) -> float | str:
    started = time.perf_counter()
    try:
        await call
    except ProviderError as error:
        return type(error.__cause__ or error).__name__
    except httpx.HTTPError as error:
        return type(error).__name__
    return time.perf_counter() - started - delay


async def _through_provider(provider: OpenAICompatibleProvider) -> None:
    async for _ in provider.stream_answer("How do refunds work?", _PASSAGES):
        pass


async def _through_httpx(client: httpx.AsyncClient, url: str) -> None:
    # The same request and stream reading the provider makes, on httpx.
    payload = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "?"}]}
    async with client.stream("POST", f"{url}/chat/completions", json=payload) as response:
        response.raise_for_status()
        async for _ in response.aiter_lines():
            pass


@asynccontextmanager
async def _client(pool: Pool, settings: Settings) -> AsyncIterator[Call]:
    if pool.library == "aiohttp":
        pooled = settings.model_copy(update={"http_max_connections": pool.max_connections})
        async with open_outbound_session(pooled) as session:

            async def call_provider(base_url: str, delay: float) -> float | str:
                provider = OpenAICompatibleProvider(
                    session, base_url=_url(base_url, delay), model="bench"
                )
                return await _timed(delay, _through_provider(provider))

            yield call_provider
        return
    limits = httpx.Limits(
        max_connections=pool.max_connections, max_keepalive_connections=pool.max_keepalive
    )
    timeout = httpx.Timeout(
        settings.provider_timeout_seconds, pool=settings.http_pool_timeout_seconds
    )
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def call_httpx(base_url: str, delay: float) -> float | str:
            return await _timed(delay, _through_httpx(client, _url(base_url, delay)))

        yield call_httpx


async def _worker(call: Call, base_url: str, delays: list[float]) -> list[float | str]:
    return [await call(base_url, delay) for delay in delays]


async def measure(settings: Settings, pool: Pool, base_url: str, delays: list[list[float]]) -> Row:
    """Run one worker per delay list, all at once, through this client."""
    async with _client(pool, settings) as call:
        started, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(_worker(call, base_url, d) for d in delays))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    outcomes = [outcome for worker in results for outcome in worker]
    overheads = [outcome for outcome in outcomes if isinstance(outcome, float)]
    failures = Counter(outcome for outcome in outcomes if isinstance(outcome, str))
    ideal = max(sum(worker) for worker in delays)
    return Row(pool, len(delays), overheads, failures, wall, ideal, cpu)


def _delays(args: argparse.Namespace, concurrency: int) -> list[list[float]]:
    rng = random.Random(args.seed)  # noqa: S311 (a workload, not a secret)
    return [
        [rng.uniform(args.min_delay, args.max_delay) for _ in range(args.rounds)]
        for _ in range(concurrency)
    ]


def _pools(settings: Settings) -> list[Pool]:
    sized = settings.http_max_connections
    return [
        Pool("httpx default", "httpx", *HTTPX_DEFAULT_POOL),
        Pool("httpx sized", "httpx", sized, sized),
        Pool("aiohttp, rag's session", "aiohttp", sized),
    ]


HEADER = [
    "client (max/keep-alive)",
    "concurrency",
    "calls",
    "failed",
    "wall s",
    "ideal s",
    "of ideal",
    "p50 extra s",
    "p99 extra s",
    "client CPU ms/call",
]


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(rows: Sequence[Row]) -> str:
    """Return the rows as a Markdown table."""
    lines = [HEADER, ["---"] * len(HEADER), *(row.cells() for row in rows)]
    return "\n".join(_line(cells) for cells in lines)


async def _run(args: argparse.Namespace, base_url: str) -> list[Row]:
    settings = get_settings()
    rows = []
    for concurrency in args.concurrency:
        for pool in _pools(settings):
            rows.append(await measure(settings, pool, base_url, _delays(args, concurrency)))
            # Progress, as each row takes seconds; the table goes to stdout at the end.
            print(_line(rows[-1].cells()), file=sys.stderr)
    return rows


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.outbound", description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--rounds", type=int, default=2, help="calls per worker (default 2)")
    parser.add_argument("--min-delay", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument("--max-delay", type=float, default=4.0, help="seconds (default 4)")
    parser.add_argument("--seed", type=int, default=5, help="of the delays (default 5)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the table: per pool and concurrency, wall time against ideal, and the extra wait."""
    args = _parse(argv)
    try:
        with running_upstream() as base_url:
            rows = asyncio.run(_run(args, base_url))
    except UpstreamStartError as error:
        print(f"cannot measure: {error}", file=sys.stderr)
        return 1
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
