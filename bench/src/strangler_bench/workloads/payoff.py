"""Workload 7: the migration's payoff: the chat route at high concurrency, before and after.

The same load goes through the gateway to ``POST /api/chat`` with the route in ``legacy`` mode
(core answers) and then ``migrated`` (rag answers), in each repeat. Core restarts before each of
its runs: a sync server that fell behind keeps working through its backlog after the load ends.
rag runs two uvicorn workers here (``RAG_WORKERS=2``, one per core of a 2-core machine), core its
usual two gunicorn workers of four threads. Each repeat also loads the migrated route with every
connection started at once (the herd). Then rag restarts with its ``openai`` provider, calling
a local OpenAI-compatible stand-in, for the same migrated load with the model behind real HTTP.
"""

import contextlib
import time

import httpx
from strangler_gateway.nginx.render import STATUS_PATH

from strangler_bench import charts
from strangler_bench.context import Bench
from strangler_bench.load import LoadResult
from strangler_bench.model import Goal, Section, Spread
from strangler_bench.servers import (
    PROVIDER_SECONDS,
    RAG_ONE_WORKER,
    RAG_TWO_WORKERS,
    SIMULATED_RAG,
)
from strangler_bench.workloads.genai import CHAT, fast_and_whole, standin_url

_MODES = (("before: legacy (core)", "legacy"), ("after: migrated (rag)", "migrated"))
# The same migrated route with every connection sending its first request in the same
# millisecond: a herd (clients reconnecting after an outage), not the steady load of the goals.
_HERD = "after, all connections at once (herd)"
# The migrated route with the provider behind real HTTP: rag's `openai` provider calling the
# local OpenAI-compatible stand-in (its own process, on the same CPUs), 1 s to first token.
_OPENAI = "after: migrated (rag + openai)"


def _switch(bench: Bench, mode: str) -> None:
    """Move the chat route and wait until nginx serves the new config (graceful reload)."""
    version = bench.stack.set_route("chat", mode)
    gateway = bench.stack.url("gateway")
    deadline = time.monotonic() + 60
    # A new connection per poll: a kept-alive one stays with an old nginx worker, which keeps
    # answering with the old config while it drains the last load's streams. The gateway's own
    # status, never a proxied path: /healthz goes to core on the catch-all, and core is still
    # working through the legacy load's backlog (hundreds of 1 s answers) when this polls.
    with httpx.Client(timeout=5, headers={"Connection": "close"}) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                if client.get(gateway + STATUS_PATH).json().get("config") == version:
                    return
            time.sleep(0.05)
    raise TimeoutError(f"the gateway did not load config {version} within 60 s")


def _record(figures: dict[str, list[float]], result: LoadResult, concurrency: int) -> None:
    for key, value in (
        ("rps", result.rps), ("share", result.rps / (concurrency / PROVIDER_SECONDS)),
        ("p50", result.p50_ms), ("p99", result.p99_ms), ("errors", result.errors),
    ):  # fmt: skip
        figures.setdefault(key, []).append(value)


def run(bench: Bench) -> Section:
    """Load the chat route through the gateway in each mode."""
    s = bench.settings
    c = s.payoff_concurrency
    section = Section(
        "payoff",
        f"The migration's payoff: the chat route at {c} concurrent, through the gateway",
        f"`POST /api/chat` (simulated provider, 1.0 s to first token, k=1; then the `openai` "
        f"provider against the local OpenAI-compatible stand-in, 1 s to first token) from {c} "
        f"connections, {s.genai_rounds} requests each, through nginx, tracing on, route `chat` in "
        f"`legacy` then `migrated` mode in each repeat; core 2 gunicorn workers x 4 threads, rag "
        f"2 uvicorn workers. Ideal: {c / PROVIDER_SECONDS:.0f} rps. The connections start spread "
        "over one model latency and the figures come from the steady window, when all of them "
        "are busy; the herd row starts them all in the same millisecond, so every round lands "
        "as one burst (no goal: a reconnect storm, not a steady load).",
    )
    gateway = bench.stack.url("gateway")
    f: dict[str, dict[str, list[float]]] = {label: {} for label, _ in _MODES}
    f[_HERD], f[_OPENAI] = {}, {}
    bench.stack.restart_with("rag", RAG_TWO_WORKERS)
    try:
        # Start from a real change: moving the route to the mode it already has is not one.
        _switch(bench, "migrated")
        for _ in range(s.repeats):
            for label, mode in _MODES:
                if mode == "legacy":
                    bench.stack.stop_process("core-http")
                    bench.stack.start_process("core-http")
                _switch(bench, mode)
                _record(f[label], bench.load_rounds(gateway, CHAT, c, PROVIDER_SECONDS), c)
            herd = bench.load_rounds(gateway, CHAT, c, PROVIDER_SECONDS, spread=False)
            _record(f[_HERD], herd, c)
        openai = {"RAG_PROVIDER": "openai", "RAG_OPENAI_BASE_URL": standin_url(bench)}
        bench.stack.restart_with("rag", openai)
        for _ in range(s.repeats):
            _record(f[_OPENAI], bench.load_rounds(gateway, CHAT, c, PROVIDER_SECONDS), c)
    finally:
        bench.stack.set_route("chat", "legacy")
        bench.stack.restart_with("rag", {**RAG_ONE_WORKER, **SIMULATED_RAG})
    table = section.table(
        "median (min-max)", "chat route", "completed rps", "share of ideal", "p50 ms", "p99 ms",
        "errors",
    )  # fmt: skip
    sp = {label: {k: Spread.of(v) for k, v in figures.items()} for label, figures in f.items()}
    for label in (*(label for label, _ in _MODES), _OPENAI, _HERD):
        x = sp[label]
        table.add(label, x["rps"].fmt(1), x["share"].pct(), x["p50"].fmt(0), x["p99"].fmt(0),
                  int(sum(x["errors"].values)))  # fmt: skip
    before, after = (f[label]["rps"] for label, _ in _MODES)
    gain = Spread.of([a / b if b else 0.0 for a, b in zip(after, before, strict=True)])
    section.notes.append(f"After / before, same repeat: {gain.fmt(1, suffix='x')} the throughput.")
    labels = [*(label for label, _ in _MODES), _OPENAI]
    section.charts += [
        charts.bars(bench.out / "payoff_throughput.png", f"chat route at {c} concurrent: rps",
                    "completed requests/s", labels, [sp[label]["rps"] for label in labels]),
        charts.bars(bench.out / "payoff_p99.png", f"chat route at {c} concurrent: p99",
                    "p99 (s)", labels,
                    [Spread.of([v / 1000 for v in f[label]["p99"]]) for label in labels]),
    ]  # fmt: skip
    for name, label, share in (("rag", labels[1], 0.9), ("rag + openai", _OPENAI, 0.8)):
        x = sp[label]
        errors = int(sum(x["errors"].values))
        section.goals += [
            Goal.judged(f"{name} through the gateway at {c}: >= {share:.0%} of ideal",
                        x["share"].pct(), lambda v, share=share: v >= share, x["share"]),
            Goal.judged(f"{name} through the gateway at {c}: p99 <= 1.2 x provider, zero errors",
                        f"p99 {x['p99'].fmt(0)} ms, {errors} errors", fast_and_whole,
                        x["p99"], x["errors"], met=fast_and_whole(x["p99"].median, errors)),
        ]  # fmt: skip
    return section
