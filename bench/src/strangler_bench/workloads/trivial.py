"""Workload 1: the cheapest JSON endpoint, each framework bare and each service as deployed.

Each service runs one worker, as its own config starts it (core: gunicorn with core's config,
4 threads; webhooks: gunicorn gthread, 4 threads, keep-alive off; rag: one uvicorn process), and
its framework's bare hello-world runs on the same server settings: keep-alive and reuse_port
read from the service's gunicorn config, and for FastAPI no access log, as rag runs. Within each
repeat the pair is measured back to back, so the ratio is taken under the same conditions even
when the machine is noisy.

Core is also compared, without a goal, with Django as ``startproject`` sets it up (its seven
middleware): most of what core costs over bare Django is what every new Django project starts
with, and the reader should see which part is the project's.
"""

from dataclasses import dataclass

from strangler_bench.context import Bench
from strangler_bench.load import Request
from strangler_bench.model import Goal, Section, Spread
from strangler_bench.procs import Server
from strangler_bench.servers import CORE_GUNICORN, WEBHOOKS_GUNICORN

GOAL_SHARE = 0.8
_HEALTHZ = Request("/healthz")


@dataclass
class _Pair:
    framework: str
    service: str
    bare: Server
    deployed: str
    judged: bool = True


def _pairs(bench: Bench) -> list[_Pair]:
    launch = bench.launch
    apps = "strangler_bench.apps."
    core = bench.keep(launch.core("trivial-core", workers=1, threads=4, env={})).url
    return [
        _Pair(
            "Django",
            "core (gunicorn, 1 worker x 4 threads)",
            bench.keep(launch.gunicorn_app("hello-django", apps + "hello_django:application",
                                           workers=1, threads=4, like=CORE_GUNICORN)),
            core,
        ),
        _Pair(
            "Django with startproject's middleware (reference, no goal)",
            "core (gunicorn, 1 worker x 4 threads)",
            bench.keep(launch.gunicorn_app("hello-django-defaults",
                                           apps + "hello_django_defaults:application",
                                           workers=1, threads=4, like=CORE_GUNICORN)),
            core,
            judged=False,
        ),
        _Pair(
            "Flask",
            "webhooks (gunicorn gthread, 1 worker x 4 threads, no keep-alive)",
            bench.keep(launch.gunicorn_app("hello-flask", apps + "hello_flask:app",
                                           workers=1, threads=4, like=WEBHOOKS_GUNICORN)),
            bench.keep(launch.webhooks("trivial-webhooks", workers=1, env={})).url,
        ),
        _Pair(
            "FastAPI",
            "rag (1 uvicorn process)",
            bench.keep(launch.uvicorn_app("hello-fastapi", apps + "hello_fastapi:app")),
            bench.stack.url("rag"),
        ),
    ]  # fmt: skip


def run(bench: Bench) -> Section:
    """Measure every pair, ``repeats`` times, and compare each service with its framework."""
    s = bench.settings
    section = Section(
        "trivial",
        "Trivial JSON endpoint: frameworks bare vs services as deployed",
        f"`GET /healthz` at {s.connections} keep-alive connections for {s.seconds:g} s, one "
        "worker per server, each service next to its framework's hello-world on the same server "
        "settings (keep-alive included: the webhook adapter closes each connection). Goal: each "
        "service >= 80 % of its bare framework (ratio taken per repeat). Core is also set "
        "against Django as `startproject` sets it up, with its seven middleware, for reference.",
    )
    pairs = _pairs(bench)
    figures: dict[str, dict[str, list[float]]] = {p.framework: {} for p in pairs}
    for _ in range(s.repeats):
        for pair in pairs:
            bare = bench.load(pair.bare.url, _HEALTHZ, s.connections, s.seconds)
            deployed = bench.load(pair.deployed, _HEALTHZ, s.connections, s.seconds)
            row = figures[pair.framework]
            for key, value in (
                ("bare", bare.rps),
                ("deployed", deployed.rps),
                ("ratio", deployed.rps / bare.rps if bare.rps else 0.0),
                ("bare_p99", bare.p99_ms),
                ("deployed_p99", deployed.p99_ms),
                ("errors", bare.errors + deployed.errors),
            ):
                row.setdefault(key, []).append(value)
    table = section.table(
        "requests per second, median (min-max)",
        "framework", "bare rps", "bare p99 ms", "service", "service rps", "service p99 ms",
        "service / bare", "errors",
    )  # fmt: skip
    for pair in pairs:
        f = {key: Spread.of(values) for key, values in figures[pair.framework].items()}
        table.add(
            pair.framework, f["bare"].fmt(0), f["bare_p99"].fmt(1), pair.service,
            f["deployed"].fmt(0), f["deployed_p99"].fmt(1), f["ratio"].pct(),
            int(sum(f["errors"].values)),
        )  # fmt: skip
        if not pair.judged:
            continue
        section.goals.append(
            Goal.judged(
                f"{pair.service.split()[0]} >= 80 % of bare {pair.framework}",
                f["ratio"].pct(),
                lambda x: x >= GOAL_SHARE,
                f["ratio"],
            )
        )
    return section
