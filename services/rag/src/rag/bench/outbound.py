"""Whether the shared outbound client keeps up with hundreds of concurrent 1-4 s model calls.

rag's providers share one ``httpx.AsyncClient`` (``rag.outbound``). With httpx's default pool
(100 connections, 20 kept alive) the 101st concurrent call waits for a free connection, and past
the pool timeout it fails; at this concurrency the client's own per-request cost shows too
(encode/httpx#3215). This measures both: the real OpenAI-compatible provider, through a client
built as rag builds it, calls a local model server (``rag.bench.model_server``, in its own
process) that takes 1-4 s to its first token. For each pool and concurrency it prints the wall
time against the ideal one (every call waiting only for the model) and how long calls spent
beyond the model's own delay.

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from rag.bench.model_server import FakeChatCompletions
from rag.config import Settings, get_settings
from rag.outbound import open_outbound_client
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
    """A pool configuration of the outbound client."""

    name: str
    max_connections: int
    max_keepalive: int

    def settings(self, base: Settings) -> Settings:
        """Return rag's settings with this pool."""
        return base.model_copy(
            update={
                "http_max_connections": self.max_connections,
                "http_max_keepalive_connections": self.max_keepalive,
            }
        )


@dataclass(frozen=True)
class Row:
    """What one pool did at one concurrency."""

    pool: Pool
    concurrency: int
    overheads: list[float]
    failures: Counter[str]
    wall: float
    ideal: float

    def cells(self) -> list[str]:
        """Return the row's table cells."""
        pool = f"{self.pool.name} ({self.pool.max_connections}/{self.pool.max_keepalive})"
        failed = sum(self.failures.values())
        why = ", ".join(f"{count} {name}" for name, count in self.failures.most_common())
        return [
            pool,
            str(self.concurrency),
            str(len(self.overheads) + failed),
            f"{failed} ({why})" if failed else "0",
            f"{self.wall:.1f}",
            f"{self.ideal:.1f}",
            f"{self.ideal / self.wall:.0%}",
            f"{percentile(self.overheads, 0.5):.2f}",
            f"{percentile(self.overheads, 0.99):.2f}",
        ]


def percentile(values: Sequence[float], share: float) -> float:
    """Return the value below which ``share`` of the values lie (nearest rank; NaN if none)."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, round(share * (len(ranked) - 1)))]


async def _call(client: httpx.AsyncClient, base_url: str, delay: float) -> float | str:
    """Make one model call; return the time it took beyond the model's delay, or why it failed."""
    url = f"{base_url}/after/{delay:.3f}/v1"
    provider = OpenAICompatibleProvider(client, base_url=url, model="bench")
    started = time.perf_counter()
    try:
        async for _ in provider.stream_answer("How do refunds work?", _PASSAGES):
            pass
    except ProviderError as error:
        return type(error.__cause__ or error).__name__
    return time.perf_counter() - started - delay


async def _worker(
    client: httpx.AsyncClient, base_url: str, delays: list[float]
) -> list[float | str]:
    return [await _call(client, base_url, delay) for delay in delays]


async def measure(settings: Settings, pool: Pool, base_url: str, delays: list[list[float]]) -> Row:
    """Run one worker per delay list, all at once, through a client with this pool."""
    async with open_outbound_client(pool.settings(settings)) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(_worker(client, base_url, d) for d in delays))
        wall = time.perf_counter() - started
    outcomes = [outcome for worker in results for outcome in worker]
    overheads = [outcome for outcome in outcomes if isinstance(outcome, float)]
    failures = Counter(outcome for outcome in outcomes if isinstance(outcome, str))
    ideal = max(sum(worker) for worker in delays)
    return Row(pool, len(delays), overheads, failures, wall, ideal)


def _delays(args: argparse.Namespace, concurrency: int) -> list[list[float]]:
    rng = random.Random(args.seed)  # noqa: S311 (a workload, not a secret)
    return [
        [rng.uniform(args.min_delay, args.max_delay) for _ in range(args.rounds)]
        for _ in range(concurrency)
    ]


def _pools(settings: Settings) -> list[Pool]:
    default = Pool("httpx default", *HTTPX_DEFAULT_POOL)
    configured = settings.http_max_connections, settings.http_max_keepalive_connections
    return [default, Pool("RAG_HTTP_*", *configured)]


HEADER = [
    "pool (max/keep-alive)",
    "concurrency",
    "calls",
    "failed",
    "wall s",
    "ideal s",
    "of ideal",
    "p50 extra s",
    "p99 extra s",
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
