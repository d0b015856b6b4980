"""Workload 3: what the gateway (nginx) adds: latency, throughput, and a stream's first byte.

The same request goes straight to a service and through the gateway in each repeat, back to
back at full load and at the same time at half load: `GET /api/search` to core (the route's
legacy side) and to rag (forced with the route's override header). Then one request at a time,
alternating direct and through nginx: what nginx adds to a request when nothing queues. Streaming:
`POST /api/chat` as SSE to rag, time from sending to the first body byte, direct and through nginx
alternately (nginx must not buffer it).

Where the gateway's cost goes at full load: the CPU time the service, nginx and the trace store
spent per request answered, direct and through nginx. On a machine where they and the load
generator share the cores, a lower share of direct rps is that added CPU, or the service's own
work slowed by sharing its cores with nginx: the table says which.
"""

import json
import statistics
import time
from functools import partial

import httpx
from devstack import SPAN_EXPORT_DELAY_MS

from strangler_bench.context import Bench
from strangler_bench.load import ONE_AT_A_TIME, Request, alternating_p50s
from strangler_bench.model import Goal, Section, Spread, Table
from strangler_bench.procs import cpu_per_request

SEARCH = "/api/search?q=refund%20annual%20plan&k=5"
_NEW = {"X-Migration-Target": "new"}
FORCED_NEW = Request(SEARCH, headers=_NEW)


def _first_byte_ms(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    body = json.dumps({"question": "How do I get a refund?", "k": 1})
    sent = time.perf_counter()
    with client.stream("POST", url + "/api/chat", content=body, headers=headers) as response:
        response.raise_for_status()
        next(response.iter_raw())
        return (time.perf_counter() - sent) * 1000


def _streaming(bench: Bench, section: Section, samples: int) -> None:
    gateway, rag = bench.stack.url("gateway"), bench.stack.url("rag")
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json", **_NEW}
    direct, through = [], []
    with httpx.Client(timeout=30) as client:
        for _ in range(samples):
            direct.append(_first_byte_ms(client, rag, headers))
            through.append(_first_byte_ms(client, gateway, headers))
    gap = statistics.median(through) - statistics.median(direct)
    table = section.table(
        f"streaming first byte, POST /api/chat as SSE to rag, {samples} samples each",
        "path", "first byte p50 ms", "min-max ms",
    )  # fmt: skip
    for label, values in (("direct", direct), ("through nginx", through)):
        table.add(label, f"{statistics.median(values):.1f}", f"{min(values):.1f}-{max(values):.1f}")
    section.goals.append(
        Goal(
            "stream first byte through nginx within 5 ms of direct", abs(gap) <= 5, f"{gap:+.1f} ms"
        )
    )


def _add_cpu_row(
    table: Table, label: str, direct: list[list[float]], through: list[list[float]]
) -> None:
    """Add one upstream's row: [service, nginx, trace store] µs per request, per repeat."""
    service_d, _, store_d = zip(*direct, strict=True)
    service_g, nginx_g, store_g = zip(*through, strict=True)
    added = [sum(g) - sum(d) for d, g in zip(direct, through, strict=True)]
    columns = (service_d, service_g, nginx_g, store_d, store_g, added)
    table.add(label, *(Spread.of(list(values)).fmt(0) for values in columns))


def run(bench: Bench) -> Section:
    """Compare direct and through-the-gateway figures in the same repeats."""
    s = bench.settings
    section = Section(
        "gateway",
        "Gateway overhead and streaming first byte",
        f"`GET {SEARCH}` at {s.gateway_connections} keep-alive connections for {s.seconds:g} s, "
        f"{s.gateway_repeats} repeats (one repeat's share of core's rps moved by 20 points from "
        "the next: fewer would not say on which side of the goal the median lies). Throughput "
        "at full load, direct and through nginx back to back in each repeat: share = "
        "gateway rps / direct rps. Latency at half load: direct and through nginx at the same "
        f"time, {s.gateway_connections} connections each, every connection pausing between "
        "requests so that together they offer at most half the direct rps of the same repeat; "
        "added p50 = gateway p50 - direct p50, both taken over the same seconds (back to back, "
        "the direct p50 alone moved by more than the 1 ms goal from one run to the next). At "
        "full load a closed loop's p50 is connections / rps, so the added p50 there only "
        "restates the share; at half load it is the time nginx adds to one request plus the "
        "queueing that time causes. On a 2-core machine nginx, the service and the load "
        "generator share the CPUs, so part of either gap is contention. One request at a time, "
        "the two sides taking turns, nothing queues: the added p50 there is nginx's own time "
        "per request. Where the CPU goes: the service's, nginx's and the trace store's CPU time "
        "per request in each full-load run, direct and through nginx; each of those runs starts "
        "once the store is quiet, and is read once the store has taken in its spans.",
    )
    gateway = bench.stack.url("gateway")
    running = bench.stack.running()
    targets = [
        ("core (legacy side)", "core-http", Request(SEARCH)),
        ("rag (forced by the override header)", "rag", FORCED_NEW),
    ]
    table = section.table(
        "median (min-max)", "upstream", "direct rps", "gateway rps", "gateway / direct",
        "added p50 at full load ms", "half-load rps (both)", "direct p50 ms", "gateway p50 ms",
        "added p50 ms",
    )  # fmt: skip
    cpu = section.table(
        "where the CPU goes in the full-load runs above, µs per request answered: each process "
        "tree over its whole run (from /proc), the trace store's intake of the run's spans "
        "included (it also builds the gateway's span from nginx's access log; each run starts "
        "once the store is quiet); added = all three through nginx - all three direct, per "
        "repeat; median (min-max)",
        "upstream", "service direct", "service through nginx", "nginx", "trace store direct",
        "trace store through nginx", "added",
    )  # fmt: skip
    alone = section.table(
        f"one request at a time, direct and through nginx taking turns, {ONE_AT_A_TIME} each "
        "per repeat: what nginx adds when nothing queues; median (min-max)",
        "upstream", "direct p50 ms", "gateway p50 ms", "added p50 ms",
    )  # fmt: skip
    c = s.gateway_connections
    trees = [running["gateway"], running["traces"]]
    for label, service, request in targets:
        direct_url = bench.stack.url(service)
        f: dict[str, list[float]] = {}
        costs: dict[str, list[list[float]]] = {"direct": [], "gateway": []}
        for _ in range(s.gateway_repeats):
            runs = []
            for side, url in (("direct", direct_url), ("gateway", gateway)):
                result, per_request = cpu_per_request(
                    partial(bench.load, url, request, c, s.seconds),
                    [running[service], *trees],
                    store=running["traces"],
                    export_delay=SPAN_EXPORT_DELAY_MS / 1000,
                )
                costs[side].append(per_request)
                runs.append(result)
            direct, through = runs
            # Both at once, offering together at most half of what the service served directly:
            # 2 * c / pause = rps / 2.
            pause = 4 * c / direct.rps if direct.rps else 0.1
            calm_direct, calm_through = bench.load_together(
                [(direct_url, request), (gateway, request)], c, s.seconds, pause=pause
            )
            for key, value in (
                ("direct", direct.rps), ("gateway", through.rps),
                ("share", through.rps / direct.rps if direct.rps else 0.0),
                ("full", through.p50_ms - direct.p50_ms),
                ("calm", calm_direct.rps + calm_through.rps),
                ("p50d", calm_direct.p50_ms), ("p50g", calm_through.p50_ms),
                ("added", calm_through.p50_ms - calm_direct.p50_ms),
            ):  # fmt: skip
                f.setdefault(key, []).append(value)
            one_direct, one_through = alternating_p50s(
                [(direct_url, request), (gateway, request)], ONE_AT_A_TIME
            )
            for key, value in (
                ("1d", one_direct),
                ("1g", one_through),
                ("1added", one_through - one_direct),
            ):
                f.setdefault(key, []).append(value)
        sp = {key: Spread.of(values) for key, values in f.items()}
        _add_cpu_row(cpu, label, costs["direct"], costs["gateway"])
        alone.add(label, sp["1d"].fmt(2), sp["1g"].fmt(2), sp["1added"].fmt(2))
        table.add(
            label, sp["direct"].fmt(0), sp["gateway"].fmt(0), sp["share"].pct(),
            sp["full"].fmt(2), sp["calm"].fmt(0), sp["p50d"].fmt(2), sp["p50g"].fmt(2),
            sp["added"].fmt(2),
        )  # fmt: skip
        name = label.split()[0]
        section.goals.append(
            Goal.judged(f"gateway adds <= 1 ms p50 at {c} connections, half load ({name})",
                        f"{sp['added'].fmt(2)} ms", lambda x: x <= 1.0, sp["added"])
        )  # fmt: skip
        section.goals.append(
            Goal.judged(f"gateway >= 80 % of direct rps ({name})", sp["share"].pct(),
                        lambda x: x >= 0.8, sp["share"])
        )  # fmt: skip
    _streaming(bench, section, max(5, 5 * s.repeats))
    return section
