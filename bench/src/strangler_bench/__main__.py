"""``python -m strangler_bench``: every workload side by side, tables, goals, a report with charts.

Starts the stack as ``make up`` runs it for the load study (simulated providers, tracing on) on
free ports under the results folder, runs the chosen workloads, prints a table per benchmark and
the goals met and missed, and writes ``report.md`` with PNG charts next to it and
``results.json``, the same run for programs (``python -m strangler_bench.compare`` sets two runs
side by side). Everything listens on 127.0.0.1 and every load is bounded in time.
"""

import argparse
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from strangler_bench import calibration, compare, others, report
from strangler_bench.context import WORKLOADS, Bench, Settings
from strangler_bench.model import Goal, Section
from strangler_bench.servers import ROOT, Launcher, load_study_stack
from strangler_bench.workloads import (
    coldstart,
    gateway,
    genai,
    internal,
    payoff,
    quality,
    tracing,
    trivial,
)

_RUNNERS: dict[str, Callable[[Bench], Section]] = {
    "quality": quality.run,
    "trivial": trivial.run,
    "genai": genai.run,
    "gateway": gateway.run,
    "tracing": tracing.run,
    "internal": internal.run,
    "coldstart": coldstart.run,
    "payoff": payoff.run,
}
QUICK = Settings(
    repeats=1, seconds=1, genai_rounds=2, concurrencies=(10,), connections=10,
    gateway_connections=10, gateway_repeats=1, payoff_concurrency=10, internal_calls=100,
    cold_repeats=1,
)  # fmt: skip


def _levels(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def parse(argv: list[str] | None) -> tuple[Settings, Path]:
    """Read the command line into settings and the results folder."""
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m strangler_bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny settings (smoke test, ~2 min)")
    p.add_argument("--repeats", type=int, help=f"runs per figure (default {d.repeats})")
    p.add_argument("--seconds", type=float, help=f"per short run (default {d.seconds:g})")
    p.add_argument(
        "--genai-rounds", type=int, help=f"requests per GenAI connection ({d.genai_rounds})"
    )
    p.add_argument("--concurrency", type=_levels, help="GenAI levels, e.g. 50,200,500")
    p.add_argument("--connections", type=int, help=f"trivial/search load ({d.connections})")
    p.add_argument(
        "--gateway-repeats", type=int, help=f"runs per gateway figure ({d.gateway_repeats})"
    )
    p.add_argument("--payoff-concurrency", type=int, help=f"({d.payoff_concurrency})")
    p.add_argument("--internal-calls", type=int, help=f"calls per protocol ({d.internal_calls})")
    p.add_argument("--cold-repeats", type=int, help=f"cold starts per service ({d.cold_repeats})")
    p.add_argument("--no-wrk", action="store_true", help="use the Python load client")
    p.add_argument("--only", help=f"comma-separated workloads of: {', '.join(WORKLOADS)}")
    p.add_argument("--out", type=Path, help="results folder (default var/bench/<timestamp>)")
    args = p.parse_args(argv)
    base = QUICK if args.quick else d
    chosen = {
        "repeats": args.repeats, "seconds": args.seconds, "genai_rounds": args.genai_rounds,
        "concurrencies": args.concurrency, "connections": args.connections,
        "payoff_concurrency": args.payoff_concurrency, "internal_calls": args.internal_calls,
        "cold_repeats": args.cold_repeats, "gateway_repeats": args.gateway_repeats,
    }  # fmt: skip
    fields = {key: value for key, value in chosen.items() if value is not None}
    if args.no_wrk:
        fields["use_wrk"] = False
    if args.only:
        unknown = set(args.only.split(",")) - set(WORKLOADS)
        if unknown:
            p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
        fields["workloads"] = tuple(w for w in WORKLOADS if w in args.only.split(","))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Settings(**{**vars(base), **fields}), args.out or ROOT / "var" / "bench" / stamp


def _failed(name: str, error: BaseException) -> Section:
    section = Section(
        name, f"{name}: failed", "This workload did not finish; see the error.", failed=True
    )
    section.goals.append(Goal(f"{name} workload ran", False, type(error).__name__))
    detail = "".join(traceback.format_exception_only(error)).strip()
    section.notes.append(f"- error: `{detail[:500]}`")
    return section


def _print(section: Section) -> None:
    print(f"\n== {section.title}")
    speed = report.speed_line(section)
    if speed is not None:
        print(speed)
    for caption, table in section.tables:
        print(f"\n{caption}\n" + "\n".join(table.markdown()))
    for note in section.notes:
        print(note)
    sys.stdout.flush()


def run(settings: Settings, out: Path) -> tuple[list[Section], calibration.Speed, Path]:
    """Run the chosen workloads against a fresh stack; write the report; return the workloads'
    sections, the machine's speed over the run and the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # What else uses the CPU meanwhile: every process but this one's tree (the stack, the servers
    # and the load generator are all started below it, and the workers a stopped server leaves
    # behind stay in it).
    others.adopt_orphans()
    whole_run = others.snapshot(os.getpid())
    speed = calibration.Speed(calibration.measure())
    print(f"machine {speed.line()}", flush=True)
    stack = load_study_stack(out / "stack")
    bench = Bench(settings, stack, Launcher(stack, out / "logs"), out)
    sections: list[Section] = []
    print(f"starting the stack on free ports under {out / 'stack'} ...", flush=True)
    with stack:
        for name in settings.workloads:
            print(f"\n-- {name} ...", flush=True)
            reading = calibration.measure_or_none()
            before = others.snapshot(os.getpid())
            try:
                sections.append(_RUNNERS[name](bench))
            except Exception as error:
                sections.append(_failed(name, error))
            finally:
                bench.stop_all()
            sections[-1].speed = reading
            sections[-1].others = others.between(before, others.snapshot(os.getpid()))
            _print(sections[-1])
    readings = [(section.key, section.speed) for section in sections]
    speed = calibration.Speed(speed.start, calibration.measure_or_none(), readings)
    print(f"\nmachine {speed.line()}", flush=True)
    outside = others.between(whole_run, others.snapshot(os.getpid()))
    print(f"processes outside the bench used {outside.text()} over the run", flush=True)
    logs = [*stack.config.log_dir.glob("*.log"), *bench.launch.log_dir.glob("*.log")]
    spans = report.dropped_spans_lines(logs)
    print("\n== Spans\n" + "\n".join(spans), flush=True)
    record = report.Run(
        sections, settings, speed, frozenset(bench.tools), time.monotonic() - started, spans,
        outside, report.Machine.read(), datetime.now(UTC),
    )  # fmt: skip
    path = out / "report.md"
    path.write_text(report.render(record, out))
    (out / report.RESULTS).write_text(json.dumps(report.results(record), indent=1) + "\n")
    return sections, speed, path


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through every `finally`, so the stack and the servers are stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the bench; print the tables, the goals and where the report is."""
    settings, out = parse(argv)
    signal.signal(signal.SIGTERM, _exit_on_term)
    sections, speed, path = run(settings, out)
    print("\n== Goals\n" + "\n".join(report.goals_lines(sections, speed)))
    print(f"\nreport: {path}")
    before = compare.previous(out)
    if before is not None:
        print(f"against the run before: uv run python -m strangler_bench.compare {before} {out}")
    failed = [s.key for s in sections if s.failed]
    if failed:
        print(f"workloads that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
