"""Workload 2: the GenAI workload, `POST /api/chat` waiting 1.0 s on a model, side by side.

Sides: the legacy view (core under gunicorn as deployed, 2 workers x 4 threads), legacy at rag's
worker budget (one process), legacy given as many threads as the load needs (2 workers x c/2
threads, at 200 concurrent and above), a Flask equivalent, and rag (one uvicorn process); then
legacy and rag with the `openai` provider against a local OpenAI-compatible stand-in that waits
1 s. A sync server that falls behind keeps answering its backlog after the load generator has
gone, so a sync side that left requests waiting starts afresh for its next run.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from strangler_bench import charts
from strangler_bench.context import Bench
from strangler_bench.load import json_post
from strangler_bench.model import Goal, Section, Spread
from strangler_bench.procs import PeakRss, Server
from strangler_bench.servers import PROVIDER_SECONDS, SIMULATED_CORE, SIMULATED_RAG

CHAT = json_post(
    "/api/chat", json.dumps({"question": "How do I get a refund?", "k": 1}).encode(),
    Accept="application/json",
)  # fmt: skip
_MB = 1024 * 1024
LEGACY, RAG, MATCHED = "legacy (core, 2x4)", "rag (1 uvicorn)", "legacy, threads to match"
LEGACY_OPENAI, RAG_OPENAI = "legacy + openai (core, 2x4)", "rag + openai (1 uvicorn)"
P99_LIMIT_MS = 1200 * PROVIDER_SECONDS
"""The GenAI goals' p99: 1.2 times the provider's latency, in ms."""


def fast_and_whole(p99_ms: float, errors: float) -> bool:
    """Whether one repeat met the GenAI goals' p99 with no error."""
    return p99_ms <= P99_LIMIT_MS and errors == 0


@dataclass
class Side:
    """One server configuration under the GenAI load."""

    label: str
    start: Callable[[int], Server]
    sync: bool
    applies: Callable[[int], bool] = lambda concurrency: True
    sized_by_load: bool = False
    running: Server | None = None
    level: int = 0


@dataclass
class Figures:
    """Every repeat's figures for one side at one concurrency."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, **figures: float) -> None:
        """Record one repeat."""
        for key, value in figures.items():
            self.values.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> Spread:
        return Spread.of(self.values.get(key, []))


Results = dict[str, dict[int, Figures]]


def standin_url(bench: Bench) -> str:
    """Start the OpenAI-compatible stand-in (1 s to first token); return its base URL."""
    server = bench.keep(
        bench.launch.uvicorn_app("openai-standin", "strangler_bench.apps.openai_standin:app")
    )
    return f"{server.url}/after/{PROVIDER_SECONDS:g}/v1"


def _sides(bench: Bench, matched_from: int) -> list[Side]:
    launch = bench.launch
    base = standin_url(bench)
    core_openai = {"CORE_CHAT_PROVIDER": "openai", "CORE_CHAT_OPENAI_BASE_URL": base}
    rag_openai = {"RAG_PROVIDER": "openai", "RAG_OPENAI_BASE_URL": base}
    flask = "strangler_bench.apps.flask_chat:app"
    return [
        Side(LEGACY, lambda c: launch.core("genai-core", workers=2, threads=4,
                                           env=SIMULATED_CORE), True),
        Side("legacy at rag's budget (core, 1x4)",
             lambda c: launch.core("genai-core-1w", workers=1, threads=4, env=SIMULATED_CORE),
             True),
        Side(MATCHED, lambda c: launch.core("genai-core-matched", workers=2,
                                            threads=max(4, c // 2), env=SIMULATED_CORE),
             True, lambda c: c >= matched_from, sized_by_load=True),
        Side("Flask equivalent (gunicorn gthread, 2x4)",
             lambda c: launch.gunicorn_app("genai-flask", flask, workers=2, threads=4), True),
        Side(RAG, lambda c: launch.rag("genai-rag", SIMULATED_RAG), False),
        Side(LEGACY_OPENAI, lambda c: launch.core("genai-core-openai", workers=2, threads=4,
                                                  env=core_openai), True),
        Side(RAG_OPENAI, lambda c: launch.rag("genai-rag-openai", rag_openai), False),
    ]  # fmt: skip


def _measure(bench: Bench, side: Side, concurrency: int, figures: Figures) -> None:
    if side.running is not None and side.sized_by_load and side.level != concurrency:
        bench.drop(side.running)
        side.running = None
    server = side.running or bench.keep(side.start(concurrency))
    side.running, side.level = server, concurrency
    idle = server.rss()
    with PeakRss(server) as peak:
        result = bench.load_rounds(server.url, CHAT, concurrency, PROVIDER_SECONDS)
    # A sync server keeps working through requests cut at the deadline: start it afresh.
    if side.sync and result.unfinished:
        bench.drop(server)
        side.running = None
    ideal = concurrency / PROVIDER_SECONDS
    figures.add(
        rps=result.rps, share=result.rps / ideal, p50=result.p50_ms, p99=result.p99_ms,
        errors=result.errors, unfinished=result.unfinished, peak_mb=peak.peak / _MB,
        kb_per_request=max(0, peak.peak - idle) / 1024 / concurrency,
    )  # fmt: skip


def measure(bench: Bench) -> Results:
    """Run every side at every concurrency, ``repeats`` times, sides interleaved per repeat."""
    levels = bench.settings.concurrencies
    matched_from = min([c for c in levels if c >= 200] or [max(levels)])
    sides = _sides(bench, matched_from)
    results: Results = {side.label: {} for side in sides}
    for concurrency in levels:
        for _ in range(bench.settings.repeats):
            for side in sides:
                if side.applies(concurrency):
                    figures = results[side.label].setdefault(concurrency, Figures())
                    _measure(bench, side, concurrency, figures)
    return results


def _ratio(results: Results, top: str, bottom: str, key: str, concurrency: int) -> Spread:
    a, b = results[top].get(concurrency), results[bottom].get(concurrency)
    if a is None or b is None:
        return Spread.of([])
    pairs = zip(a.values[key], b.values[key], strict=True)
    return Spread.of([x / y if y else 0.0 for x, y in pairs])


def _tables(section: Section, results: Results) -> None:
    table = section.table(
        "per side and concurrency: median (min-max) over the repeats",
        "side", "concurrent", "ideal rps", "completed rps", "share of ideal", "p50 ms", "p99 ms",
        "errors", "cut at deadline", "peak RSS MB", "KB per in-flight request",
    )  # fmt: skip
    for label, by_level in results.items():
        for c, f in sorted(by_level.items()):
            table.add(
                label, c, f"{c / PROVIDER_SECONDS:.0f}", f["rps"].fmt(1), f["share"].pct(),
                f["p50"].fmt(0), f["p99"].fmt(0), int(sum(f["errors"].values)),
                int(sum(f["unfinished"].values)), f["peak_mb"].fmt(0), f["kb_per_request"].fmt(0),
            )  # fmt: skip
    ratios = section.table(
        "ratios taken within each repeat",
        "concurrent", "rag / legacy rps", "rag+openai / legacy+openai rps",
        "legacy-to-match / rag peak RSS", "legacy-to-match / rag rps",
    )  # fmt: skip
    for c in sorted(results[RAG]):
        ratios.add(
            c, _ratio(results, RAG, LEGACY, "rps", c).fmt(1, suffix="x"),
            _ratio(results, RAG_OPENAI, LEGACY_OPENAI, "rps", c).fmt(1, suffix="x"),
            _ratio(results, MATCHED, RAG, "peak_mb", c).fmt(1, suffix="x"),
            _ratio(results, MATCHED, RAG, "rps", c).fmt(2, suffix="x"),
        )  # fmt: skip


def _memory_note(results: Results) -> str:
    matched = results[MATCHED]
    lines = []
    for c, f in sorted(matched.items()):
        rag = results[RAG][c]
        ratio = _ratio(results, MATCHED, RAG, "peak_mb", c)
        lines.append(
            f"at {c} concurrent, legacy with {max(4, c // 2)} threads per worker reached "
            f"{f['share'].pct()} of ideal with {f['peak_mb'].fmt(0)} MB peak RSS, rag "
            f"{rag['share'].pct()} with {rag['peak_mb'].fmt(0)} MB: {ratio.fmt(1)}x the memory"
        )
    return (
        "The seeds claim a sync server needs 5-10x the memory of an async one for this load. "
        "Measured: " + "; ".join(lines) + "."
    )


def _charts(bench: Bench, section: Section, results: Results) -> None:
    def series(key: str, scale: float = 1.0) -> charts.Series:
        out: charts.Series = {}
        for label, by_level in results.items():
            levels = sorted(by_level)
            spreads = [Spread.of([v * scale for v in by_level[c].values[key]]) for c in levels]
            out[label] = (levels, spreads)
        return out

    throughput = series("rps")
    levels = sorted(results[RAG])
    ideal = [Spread.of([c / PROVIDER_SECONDS]) for c in levels]
    throughput["ideal (concurrency / 1.0 s)"] = (levels, ideal)
    section.charts += [
        charts.lines(bench.out / "genai_throughput.png", "GenAI: completed requests/s",
                     "concurrent requests", "requests/s", throughput),
        charts.lines(bench.out / "genai_p99.png", "GenAI: p99 latency", "concurrent requests",
                     "p99 (s)", series("p99", 0.001)),
        charts.lines(bench.out / "genai_memory.png", "GenAI: memory per in-flight request",
                     "concurrent requests", "KB per in-flight request (peak - idle RSS) / c",
                     series("kb_per_request")),
    ]  # fmt: skip


def _goals(section: Section, results: Results) -> None:
    top = max(results[RAG])
    for label, floor in ((RAG, 0.9), (RAG_OPENAI, 0.8)):
        f = results[label][top]
        section.goals.append(
            Goal.judged(f"{label} direct at {top}: >= {floor:.0%} of ideal", f["share"].pct(),
                        lambda x, floor=floor: x >= floor, f["share"])
        )  # fmt: skip
        errors = int(sum(f["errors"].values))
        section.goals.append(
            Goal.judged(f"{label} direct at {top}: p99 <= 1.2 x provider, zero errors",
                        f"p99 {f['p99'].fmt(0)} ms, {errors} errors", fast_and_whole,
                        f["p99"], f["errors"], met=fast_and_whole(f["p99"].median, errors))
        )  # fmt: skip


def run(bench: Bench) -> Section:
    """Measure the GenAI workload and describe it."""
    s = bench.settings
    section = Section(
        "genai",
        "The GenAI workload: POST /api/chat waiting 1.0 s on a model",
        f"`POST /api/chat` (k=1, JSON) from {', '.join(map(str, s.concurrencies))} keep-alive "
        f"connections, {s.genai_rounds} requests each (closed loop; the connections start "
        "spread over one model latency and the figures come from the steady window, when all "
        f"of them are busy; bounded at {s.genai_rounds + 1} s + 2 s: requests still waiting then "
        "are 'cut at deadline'), direct to each server, tracing on. The "
        "simulated provider waits 1.0 s to its first token; the `openai` provider talks to a "
        "local OpenAI-compatible stand-in that waits 1 s. Ideal rps = concurrency / 1.0 s. "
        "Memory per in-flight request = (peak RSS under load - idle RSS) / concurrency, over the "
        "whole process tree.",
    )
    results = measure(bench)
    _tables(section, results)
    section.notes.append(_memory_note(results))
    _charts(bench, section, results)
    _goals(section, results)
    return section
