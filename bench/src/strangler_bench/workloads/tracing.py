"""Workload 4: what tracing costs: the same server with the OpenTelemetry SDK on and off.

Each pair is the stack's server and a twin with the same command line and environment but for
``OTEL_SDK_DISABLED=true``; both run side by side and are loaded back to back in each repeat, so
the overhead is a ratio taken under the same conditions. Tracing on exports every span (100 %
sampled) to the stack's trace store, as ``make up`` runs it: the goals read that. On search, a
third twin samples a tenth of the traces it starts (the SDK's ``parentbased_traceidratio``), what
a production team would try next when 100 % costs too much; its rows carry no goal. Behind the
gateway the gateway decides (``trace_sample_percent``): search through it at 100 and at 10 %,
taking turns, reads what that share saves the stack's own services and trace store.

Where the cost goes, on search: three more twins climb from tracing off to the stack's server one
step at a time, each set by the SDK's own variables. With ``OTEL_TRACES_SAMPLER=always_off`` the
telemetry runs on every request and records none (FastAPI's or Django's own work, before the
sampler decides); with ``OTEL_TRACES_EXPORTER=none`` every span is recorded and ended but none is
batched, encoded or sent; with ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` every span is exported,
but to an OTLP receiver outside the project that keeps nothing (``apps.otlp_sink``), as a service
whose spans leave for a backend on another machine does. The steps between them, in CPU per
request, set against what the goal allows (with one process's CPU the limit, 10 % of rps is a
ninth of the CPU with tracing off), show which part of tracing a production team could still cut,
which part is the frameworks' and the SDK's, and which part is the stack's trace store taking the
spans in on the same cores.

The trace store goes on taking in a run's spans after the run: the server exports its last ones
up to one export delay later, and the store works through its backlog for a second or more. That
work is the run's, and it would otherwise land on the next one (tracing off, most often, whose
rate it would lower): each run starts once the store is quiet, and its CPU figures are read once
the last spans are in.
"""

from collections.abc import Callable
from dataclasses import dataclass

from devstack import SPAN_EXPORT_DELAY_MS

from strangler_bench.context import Bench
from strangler_bench.load import LoadResult, Request
from strangler_bench.model import Goal, Section, Spread
from strangler_bench.procs import cpu_per_request
from strangler_bench.servers import PROVIDER_SECONDS, SIMULATED_CORE, SIMULATED_RAG, TRACING_OFF
from strangler_bench.workloads.gateway import FORCED_NEW
from strangler_bench.workloads.genai import CHAT

SEARCH = Request("/api/search?q=refund%20annual%20plan&k=5")
# The share of the traces a head-sampled twin starts that it records and exports, and the share
# the gateway samples of the traces it starts, read against its default of every trace.
SAMPLED_RATIO = 0.1
GATEWAY_SHARES = (100, 100 * SAMPLED_RATIO)
HEAD_SAMPLED = {
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": str(SAMPLED_RATIO),
}
# The steps of tracing's cost: the telemetry on every request with nothing recorded, then every
# span recorded and none exported (the stack's server, exporting them all, is the last step).
UNRECORDED = {"OTEL_TRACES_SAMPLER": "always_off"}
UNEXPORTED = {"OTEL_TRACES_EXPORTER": "none"}
UNRECORDED_ROW = "nothing recorded"
UNEXPORTED_ROW = "every span recorded, none exported"
ELSEWHERE_ROW = "every span exported to a receiver that keeps nothing"
SINK_APP = "strangler_bench.apps.otlp_sink:app"
GOAL_SEARCH = 0.10


def exporting_to(endpoint: str) -> dict[str, str]:
    """Return the environment that sends a twin's spans to ``endpoint`` and nowhere else."""
    return {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint}


@dataclass(frozen=True)
class _Twin:
    """A server under test: where it answers and the process tree whose CPU time counts."""

    url: str
    pid: int


@dataclass(frozen=True)
class _Twins:
    """One service as the stack runs it (tracing on), with tracing off, head-sampled, and at
    the three steps between off and on."""

    on: _Twin
    off: _Twin
    sampled: _Twin
    unrecorded: _Twin
    unexported: _Twin
    elsewhere: _Twin


def _twins(bench: Bench, service: str, receiver: str) -> _Twins:
    """Return the stack's server and its twins: tracing off, head-sampled, and the steps.

    ``receiver``: the traces endpoint the twin exporting elsewhere sends its spans to.
    """
    running = bench.stack.running()
    twins: dict[str, _Twin] = {}
    for name, env in (
        ("off", TRACING_OFF), ("sampled", HEAD_SAMPLED), ("unrecorded", UNRECORDED),
        ("unexported", UNEXPORTED), ("elsewhere", exporting_to(receiver)),
    ):  # fmt: skip
        if service == "core":
            server = bench.launch.core(f"tracing-core-{name}", workers=2, threads=4,
                                       env={**SIMULATED_CORE, **env})  # fmt: skip
        else:
            server = bench.launch.rag(f"tracing-rag-{name}", {**SIMULATED_RAG, **env})
        bench.keep(server)
        twins[name] = _Twin(server.url, server.pid)
    stack_name = "core-http" if service == "core" else "rag"
    return _Twins(on=_Twin(bench.stack.url(stack_name), running[stack_name]), **twins)


def _measured(
    measure: Callable[[str], LoadResult],
    twin: _Twin,
    store: int,
    *,
    export_delay: float = SPAN_EXPORT_DELAY_MS / 1000,
) -> tuple[LoadResult, float, float]:
    """Run one load; return it with the server's and the trace store's CPU µs per request.

    As ``procs.cpu_per_request`` reads them: over the whole run and the intake of its last spans.
    """
    result, (server, spans) = cpu_per_request(
        lambda: measure(twin.url), [twin.pid, store], store=store, export_delay=export_delay
    )
    return result, server, spans


def run(bench: Bench) -> Section:
    """Measure search on core and rag, and the GenAI workload on rag, tracing on vs off.

    Search is also read head-sampled, against the same tracing-off runs, and through the gateway
    sampling every trace and a tenth.
    """
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
        "Overhead = 1 - rps(on) / rps(off), per repeat. Where the cost goes: the CPU time the "
        "server's processes used per request answered, off and on, and what the trace store "
        "used per request to take in the spans, on the same cores (from /proc, over each whole "
        "run, ramp and drain included, and so per answer of the whole run, until the store has "
        "taken in the run's last spans; each run starts once the store is quiet). On search, "
        f"a third twin records {SAMPLED_RATIO:.0%} of the traces it starts "
        "(`OTEL_TRACES_SAMPLER=parentbased_traceidratio`), read against the same tracing-off "
        "runs, with no goal: what head sampling would save. It decides only for traces it "
        "starts; a request that arrives with a sampled `traceparent` is recorded. Three more "
        "twins on search, also without a goal, are the steps between off and on (the second "
        "table); the last of them exports every span to an OTLP receiver that keeps nothing, "
        "as a service does whose spans leave for a backend on another machine: its row reads "
        "tracing's cost without the trace store beside the service. Behind the gateway the "
        "gateway decides (`trace_sample_percent` in its route table): the third table reads "
        "search through it at every trace and at a tenth.",
    )
    table = section.table(
        "median (min-max)", "workload", "rps tracing off", "rps tracing on", "overhead",
        "p99 ms off", "p99 ms on", "server CPU µs/req off", "server CPU µs/req on",
        "trace store CPU µs/req",
    )  # fmt: skip
    receiver = bench.keep(bench.launch.uvicorn_app("otlp-sink", SINK_APP))
    twins = {
        service: _twins(bench, service, f"{receiver.url}/v1/traces") for service in ("core", "rag")
    }
    store = bench.stack.running()["traces"]

    def search(url: str) -> LoadResult:
        return bench.load(url, SEARCH, s.connections, s.seconds)

    def genai(url: str) -> LoadResult:
        return bench.load_rounds(url, CHAT, genai_c, PROVIDER_SECONDS)

    sampled = f"{SAMPLED_RATIO:.0%} of traces sampled"
    cases = [
        ("search on core", twins["core"], search, GOAL_SEARCH),
        ("search on rag", twins["rag"], search, GOAL_SEARCH),
        (f"GenAI on rag at {genai_c}", twins["rag"], genai, 0.02),
    ]
    steps: dict[str, dict[str, list[float]]] = {}
    for label, service, measure, limit in cases:
        unrecorded, unexported = f"{label}, {UNRECORDED_ROW}", f"{label}, {UNEXPORTED_ROW}"
        elsewhere = f"{label}, {ELSEWHERE_ROW}"
        # In the order they run after tracing off: each step next to the one before it.
        traced = {label: service.on}
        if measure is search:
            traced = {unrecorded: service.unrecorded, unexported: service.unexported,
                      elsewhere: service.elsewhere, label: service.on,
                      f"{label}, {sampled}": service.sampled}  # fmt: skip
        f: dict[str, dict[str, list[float]]] = {row: {} for row in traced}
        for _ in range(s.repeats):
            # These twins export nothing: no last export to wait for after their runs.
            off, cpu_off, _ = _measured(measure, service.off, store, export_delay=0.0)
            for row, twin in traced.items():
                delay = 0.0 if row in (unrecorded, unexported) else SPAN_EXPORT_DELAY_MS / 1000
                on, cpu_on, cpu_store = _measured(measure, twin, store, export_delay=delay)
                for key, value in (
                    ("off", off.rps), ("on", on.rps),
                    ("overhead", 1 - on.rps / off.rps if off.rps else 0.0),
                    ("p99off", off.p99_ms), ("p99on", on.p99_ms),
                    ("cpuoff", cpu_off), ("cpuon", cpu_on), ("store", cpu_store),
                ):  # fmt: skip
                    f[row].setdefault(key, []).append(value)
        # The goal's row first.
        for row in sorted(traced, key=lambda row: row != label):
            sp = {key: Spread.of(values) for key, values in f[row].items()}
            table.add(
                row, sp["off"].fmt(1), sp["on"].fmt(1), sp["overhead"].pct(), sp["p99off"].fmt(0),
                sp["p99on"].fmt(0), sp["cpuoff"].fmt(0), sp["cpuon"].fmt(0), sp["store"].fmt(0),
            )  # fmt: skip
            if row == label:
                section.goals.append(
                    Goal.judged(f"tracing costs <= {limit:.0%} rps: {label}",
                                sp["overhead"].pct(), lambda x, limit=limit: x <= limit,
                                sp["overhead"])
                )  # fmt: skip
        if measure is search:
            steps[label] = {
                "off": f[label]["cpuoff"],
                "unrecorded": f[unrecorded]["cpuon"],
                "unexported": f[unexported]["cpuon"],
                "elsewhere": f[elsewhere]["cpuon"],
                "on": f[label]["cpuon"],
            }
    _steps(section, steps)
    _gateway_sampling(bench, section, store)
    return section


def _steps(section: Section, steps: dict[str, dict[str, list[float]]]) -> None:
    """Tabulate tracing's CPU per search in steps, against what the goal allows.

    Each step is the difference between two twins' CPU per request in the same repeat (their runs
    are back to back), its median and spread over the repeats. With one process's CPU the limit,
    rps is inversely proportional to CPU per request, so costing at most ``GOAL_SEARCH`` of the
    rps allows tracing ``off * GOAL_SEARCH / (1 - GOAL_SEARCH)`` (a ninth of ``off`` at 10 %).
    """
    table = section.table(
        "where tracing's CPU goes on search: server CPU µs per request answered; each step is "
        "a twin's CPU minus the one before it in the same repeat (`OTEL_TRACES_SAMPLER="
        "always_off`: the telemetry runs and records nothing; `OTEL_TRACES_EXPORTER=none`: "
        "every span recorded and ended, none batched, encoded or sent; then every span "
        "exported to a receiver that keeps nothing; then the stack's own server, exporting to "
        "the trace store, which takes the spans in on the same cores: the last step is the "
        "server's CPU rising with the store's work beside it, whose own CPU is in the table "
        "above); the goal's allowance is the CPU that costing "
        f"{GOAL_SEARCH:.0%} of rps leaves tracing; median (min-max)",
        "workload", "tracing off", "+ telemetry, nothing recorded", "+ recording every span",
        "+ exporting every span (to a receiver that keeps nothing)",
        "+ the trace store beside it (the stack's server)", "tracing's whole cost",
        f"allowed at {GOAL_SEARCH:.0%} of rps",
    )  # fmt: skip
    allowance = GOAL_SEARCH / (1 - GOAL_SEARCH)
    for label, cpu in steps.items():

        def step(high: str, low: str, cpu: dict[str, list[float]] = cpu) -> str:
            return Spread.of([h - lo for h, lo in zip(cpu[high], cpu[low], strict=True)]).fmt(0)

        table.add(
            label, Spread.of(cpu["off"]).fmt(0), step("unrecorded", "off"),
            step("unexported", "unrecorded"), step("elsewhere", "unexported"),
            step("on", "elsewhere"), step("on", "off"),
            Spread.of([v * allowance for v in cpu["off"]]).fmt(0),
        )  # fmt: skip


def _gateway_sampling(bench: Bench, section: Section, store: int) -> None:
    """Read search through the gateway with every trace sampled and with a tenth, taking turns."""
    s = bench.settings
    full, share = GATEWAY_SHARES
    table = section.table(
        f"sampled at the gateway: `GET /api/search` through it at {s.connections} connections for "
        f"{s.seconds:g} s with `trace_sample_percent = {full:g}` (the default) and "
        f"`= {share:g}`, taking turns (the other share first in every other repeat); gain "
        f"= rps at {share:g} % / rps at {full:g} % - 1; CPU per request answered as above (the "
        "stack's service, and the trace store, which also builds the gateway's spans from its "
        "access log); median (min-max)",
        "upstream", f"rps at {full:g} %", f"rps at {share:g} %", "gain",
        f"server CPU µs/req at {full:g} %", f"server CPU µs/req at {share:g} %",
        f"trace store CPU µs/req at {full:g} %", f"trace store CPU µs/req at {share:g} %",
    )  # fmt: skip
    running = bench.stack.running()
    gateway = bench.stack.url("gateway")
    upstreams = [
        ("core (legacy side)", running["core-http"], SEARCH),
        ("rag (forced by the override header)", running["rag"], FORCED_NEW),
    ]
    try:
        for label, pid, request in upstreams:

            def measure(url: str, request: Request = request) -> LoadResult:
                return bench.load(url, request, s.connections, s.seconds)

            f: dict[tuple[str, float], list[float]] = {}
            for repeat in range(s.repeats):
                order = GATEWAY_SHARES if repeat % 2 == 0 else GATEWAY_SHARES[::-1]
                for percent in order:
                    bench.stack.sample_traces(percent)
                    result, cpu, cpu_store = _measured(measure, _Twin(gateway, pid), store)
                    for key, value in (("rps", result.rps), ("cpu", cpu), ("store", cpu_store)):
                        f.setdefault((key, percent), []).append(value)
            pairs = zip(f["rps", full], f["rps", share], strict=True)
            gain = Spread.of([low / high - 1 if high else 0.0 for high, low in pairs])
            sp = {key: Spread.of(values) for key, values in f.items()}
            table.add(
                label, sp["rps", full].fmt(1), sp["rps", share].fmt(1), gain.pct(),
                sp["cpu", full].fmt(0), sp["cpu", share].fmt(0),
                sp["store", full].fmt(0), sp["store", share].fmt(0),
            )  # fmt: skip
    finally:
        bench.stack.sample_traces(full)  # the later workloads measure the stack as make up runs it
