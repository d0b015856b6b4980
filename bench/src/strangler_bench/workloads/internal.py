"""Workload 5: internal calls: one lookup over gRPC unary vs JSON over HTTP, and core's hop to rag.

The lookup is rag's search for one query, asked the two ways services call each other: the
``RagService.Search`` unary RPC on one HTTP/2 channel, and ``GET /api/search`` on one HTTP/1.1
keep-alive connection. Calls are sequential (one client, the latency of each call alone) and go
through a byte-counting relay, so bytes on the wire are counted the same way for both.
Then the monolith's delegation: core's ``GET /api/customers/1/suggestions`` minus rag's own
``/internal/customers/1/suggestions``. At one client the two take turns, one request at a time
(:func:`~strangler_bench.load.alternating_p50s`): loaded one after the other, each side's p50
at one connection moved by milliseconds from one 4-s run to the next on a 2-core machine (rag
3.2-4.8 ms, core 4.6-9.6 ms within one run), more than the 3 ms the goal allows. A third side
takes its turn with them, for reference: bare Django relaying rag as core does
(:mod:`strangler_bench.apps.delegate_django`) under core's gunicorn config and tracing, so the
report shows how much of the hop is the frameworks' and the instrumentations' and how much core's
own code. Under load at 1 and 20 clients rag and core are still loaded one after the other, for
the rps and for the linearity check, which compares those two alike.
"""

import statistics
import time
from collections.abc import Callable

import grpc
import httpx
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc

from strangler_bench.context import Bench
from strangler_bench.load import ONE_AT_A_TIME, Request, alternating_p50s
from strangler_bench.model import NOT_MEASURED, Goal, Section, Spread
from strangler_bench.procs import Server
from strangler_bench.relay import relay
from strangler_bench.servers import Launcher

QUERY = "refund annual plan"
K = 5


def _timed(call: Callable[[], object], calls: int) -> list[float]:
    call()  # the first call opens the connection; it is not part of the steady figures
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    return sorted(latencies)


def _grpc(bench: Bench, calls: int) -> tuple[list[float], float]:
    port = bench.stack.config.ports.rag_grpc
    metadata = (("authorization", f"Bearer {bench.stack.secrets.service_token}"),)
    request = rag_pb2.SearchRequest(query=QUERY, k=K)
    with relay("127.0.0.1", port) as (relay_port, counted):
        with grpc.insecure_channel(f"127.0.0.1:{relay_port}") as channel:
            stub = rag_pb2_grpc.RagServiceStub(channel)
            latencies = _timed(lambda: stub.Search(request, metadata=metadata, timeout=5), calls)
        return latencies, counted.total / (calls + 1)


def _http(bench: Bench, calls: int) -> tuple[list[float], float]:
    port = int(bench.stack.url("rag").rsplit(":", 1)[1])
    with relay("127.0.0.1", port) as (relay_port, counted):
        with httpx.Client(base_url=f"http://127.0.0.1:{relay_port}", timeout=5) as client:

            def call() -> None:
                client.get("/api/search", params={"q": QUERY, "k": K}).raise_for_status()

            latencies = _timed(call, calls)
        return latencies, counted.total / (calls + 1)


def _p(latencies: list[float], share: float) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * share))]


def _protocols(bench: Bench, section: Section) -> None:
    calls = bench.settings.internal_calls
    table = section.table(
        f"{calls} sequential calls each, median over {bench.settings.repeats} repeats (min-max)",
        "protocol", "p50 ms", "p99 ms", "bytes on the wire per call",
    )  # fmt: skip
    for label, measure in (
        ("gRPC unary (HTTP/2)", _grpc),
        ("JSON over HTTP/1.1 keep-alive", _http),
    ):
        f: dict[str, list[float]] = {}
        for _ in range(bench.settings.repeats):
            latencies, per_call = measure(bench, calls)
            f.setdefault("p50", []).append(statistics.median(latencies))
            f.setdefault("p99", []).append(_p(latencies, 0.99))
            f.setdefault("bytes", []).append(per_call)
        sp = {key: Spread.of(values) for key, values in f.items()}
        table.add(label, sp["p50"].fmt(2), sp["p99"].fmt(2), sp["bytes"].fmt(0))


# Core's hop without core's code: bare Django relaying rag, served as core is.
DELEGATE_APP = "strangler_bench.apps.delegate_django:application"
DELEGATE_ENV = {
    "DJANGO_SETTINGS_MODULE": "strangler_bench.apps.delegate_django_settings",
    "OTEL_SERVICE_NAME": "django-delegate",
}
_SUGGESTIONS = Request("/api/customers/1/suggestions")
DELEGATE_ROW = "bare Django relaying rag (reference, no goal)"


def _start_delegate(launch: Launcher) -> Server:
    """Start the bare Django delegate with core's config, tracing and environment.

    One worker: one client's kept-alive connection lands on one of core's workers either way.
    """
    return launch.core("hop-delegate", workers=1, threads=4, env=DELEGATE_ENV, app=DELEGATE_APP)


def _hop_figures(
    bench: Bench, rag: tuple[str, Request], core: tuple[str, Request], delegate: tuple[str, Request]
) -> dict[str, list[float]]:
    s = bench.settings
    f: dict[str, list[float]] = {}
    for _ in range(s.repeats):
        for clients in (1, 20):
            direct = bench.load(rag[0], rag[1], clients, s.seconds)
            via = bench.load(core[0], core[1], clients, s.seconds)
            for key, value in (
                ("rag", direct.p50_ms), ("core", via.p50_ms),
                ("added", via.p50_ms - direct.p50_ms), ("rps", via.rps),
            ):  # fmt: skip
                f.setdefault(f"{key}{clients}", []).append(value)
        turns = alternating_p50s([rag, core, delegate], ONE_AT_A_TIME)
        alone_rag, alone_core, alone_delegate = turns
        for key, value in (
            ("rag", alone_rag), ("core", alone_core), ("added", alone_core - alone_rag),
            ("delegate", alone_delegate), ("floor", alone_delegate - alone_rag),
        ):  # fmt: skip
            f.setdefault(key, []).append(value)
    return f


def _hop(bench: Bench, section: Section) -> None:
    s = bench.settings
    token = bench.stack.secrets.service_token
    core = (bench.stack.url("core-http"), _SUGGESTIONS)
    rag = (
        bench.stack.url("rag"),
        Request("/internal/customers/1/suggestions", headers={"Authorization": f"Bearer {token}"}),
    )
    table = section.table(
        "core's delegation to rag: GET /api/customers/1/suggestions vs rag's own endpoint",
        "clients", "rag p50 ms", "core p50 ms", "added p50 ms", "core rps",
    )  # fmt: skip
    server = bench.keep(_start_delegate(bench.launch))
    try:
        f = _hop_figures(bench, rag, core, (server.url, _SUGGESTIONS))
    finally:
        bench.drop(server)
    sp = {key: Spread.of(values) for key, values in f.items()}
    table.add(
        f"1, one request at a time, taking turns ({ONE_AT_A_TIME} each)",
        sp["rag"].fmt(2), sp["core"].fmt(2), sp["added"].fmt(2), NOT_MEASURED,
    )  # fmt: skip
    table.add(
        f"1, the same turns: {DELEGATE_ROW} in core's place",
        sp["rag"].fmt(2), sp["delegate"].fmt(2), sp["floor"].fmt(2), NOT_MEASURED,
    )  # fmt: skip
    for clients in (1, 20):
        table.add(
            f"{clients}, {s.seconds:g} s each, one after the other",
            *(sp[f"{key}{clients}"].fmt(2) for key in ("rag", "core", "added")),
            sp[f"rps{clients}"].fmt(0),
        )
    added = sp["added"]
    section.goals.append(
        Goal.judged("core's hop to rag adds <= 3 ms p50 at 1 client",
                    f"{added.fmt(2)} ms, taking turns; bare Django {sp['floor'].fmt(2)} ms",
                    lambda x: x <= 3, added)
    )  # fmt: skip
    # Like against like: the figures under load at 1 and 20 clients, each side after the other.
    section.goals.append(
        Goal.judged("core's hop no worse than linear in concurrency (added p50 at 20 <= 20 x at 1)",
                    f"{sp['added20'].fmt(2)} ms at 20",
                    lambda one, many: many <= 20 * max(one, 0.1), sp["added1"], sp["added20"])
    )  # fmt: skip


def run(bench: Bench) -> Section:
    """Measure both protocols, then core's hop to rag."""
    section = Section(
        "internal",
        "Internal calls: gRPC unary vs JSON over HTTP, and core's hop to rag",
        f"rag's search for {QUERY!r} (k={K}) as `RagService.Search` and as `GET /api/search`, "
        "one client, through a byte-counting TCP relay (bytes both ways, connection set-up "
        "spread over the calls). Then core's delegation to rag: at one client the two endpoints "
        "taking turns, one request at a time on one kept-alive connection each (the goal's "
        "figure), with a third taking its turn for reference: bare Django relaying rag through "
        "one pooled httpx client, under core's gunicorn config and tracing, without core's "
        "middleware, routing or error handling (what the frameworks and instrumentations cost "
        "for the hop). Then under wrk at 1 and 20 clients one after the other.",
    )
    _protocols(bench, section)
    _hop(bench, section)
    return section
