"""Workload 4: what tracing costs: the same server with the OpenTelemetry SDK on and off.

Each pair is the stack's server and a twin with the same command line and environment but for
``OTEL_SDK_DISABLED=true``; both run side by side and are loaded back to back in each repeat, so
the overhead is a ratio taken under the same conditions. Tracing on exports every span (100 %
sampled) to the stack's trace store, as ``make up`` runs it.
"""

from strangler_bench.context import Bench
from strangler_bench.load import LoadResult, Request
from strangler_bench.model import Goal, Section, Spread
from strangler_bench.servers import PROVIDER_SECONDS, SIMULATED_CORE, SIMULATED_RAG, TRACING_OFF
from strangler_bench.workloads.genai import CHAT

SEARCH = Request("/api/search?q=refund%20annual%20plan&k=5")


def _pair(bench: Bench, service: str) -> tuple[str, str]:
    """Return the stack's server (tracing on, as `make up` runs it) and its twin with it off."""
    launch = bench.launch
    if service == "core":
        off = launch.core("tracing-core-off", workers=2, threads=4,
                          env={**SIMULATED_CORE, **TRACING_OFF})  # fmt: skip
        return bench.stack.url("core-http"), bench.keep(off).url
    off = launch.rag("tracing-rag-off", {**SIMULATED_RAG, **TRACING_OFF})
    return bench.stack.url("rag"), bench.keep(off).url


def run(bench: Bench) -> Section:
    """Measure search on core and rag, and the GenAI workload on rag, tracing on vs off."""
    s = bench.settings
    # The top level, where one process's CPU is the limit: below it both twins serve the ideal
    # rate, and the ratio could not show what tracing costs.
    genai_c = max(s.concurrencies)
    section = Section(
        "tracing",
        "Tracing overhead (OTEL_SDK_DISABLED=true vs on)",
        f"`GET /api/search` at {s.connections} connections for {s.seconds:g} s, and the GenAI "
        f"workload (rag, simulated provider) at {genai_c} concurrent, {s.genai_rounds} "
        "requests per connection: the top level, where one process's CPU is the limit (below "
        "it both twins serve the ideal rate, so the ratio cannot show tracing's cost). "
        "Overhead = 1 - rps(on) / rps(off), per repeat.",
    )
    table = section.table(
        "median (min-max)", "workload", "rps tracing off", "rps tracing on", "overhead",
        "p99 ms off", "p99 ms on",
    )  # fmt: skip
    urls = {service: _pair(bench, service) for service in ("core", "rag")}

    def search(url: str) -> LoadResult:
        return bench.load(url, SEARCH, s.connections, s.seconds)

    def genai(url: str) -> LoadResult:
        return bench.load_rounds(url, CHAT, genai_c, PROVIDER_SECONDS)

    cases = [
        ("search on core", urls["core"], search, 0.10),
        ("search on rag", urls["rag"], search, 0.10),
        (f"GenAI on rag at {genai_c}", urls["rag"], genai, 0.02),
    ]
    for label, (on_url, off_url), measure, limit in cases:
        f: dict[str, list[float]] = {}
        for _ in range(s.repeats):
            off, on = measure(off_url), measure(on_url)
            for key, value in (
                ("off", off.rps), ("on", on.rps),
                ("overhead", 1 - on.rps / off.rps if off.rps else 0.0),
                ("p99off", off.p99_ms), ("p99on", on.p99_ms),
            ):  # fmt: skip
                f.setdefault(key, []).append(value)
        sp = {key: Spread.of(values) for key, values in f.items()}
        table.add(
            label, sp["off"].fmt(1), sp["on"].fmt(1), sp["overhead"].pct(), sp["p99off"].fmt(0),
            sp["p99on"].fmt(0),
        )  # fmt: skip
        section.goals.append(
            Goal(f"tracing costs <= {limit:.0%} rps: {label}", sp["overhead"].median <= limit,
                 sp["overhead"].pct())
        )  # fmt: skip
    return section
