"""The run's report: the machine, each workload's tables and charts, the goals met and missed."""

import os
import platform
import shutil
import statistics
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from strangler_gateway import find_nginx

from strangler_bench.calibration import Reading, Speed, reading_text
from strangler_bench.context import Settings
from strangler_bench.model import NOT_MEASURED, Goal, Section
from strangler_bench.others import Others

_PACKAGES = (
    "django", "gunicorn", "flask", "fastapi", "starlette", "uvicorn", "pydantic", "httpx",
    "grpcio", "opentelemetry-sdk", "bm25s",
)  # fmt: skip


DROPPED_SPANS_WARNING = "Queue full, dropping Span"
"""What the OpenTelemetry SDK's batch processor logs when its queue is full and it drops a span:
at most once every 20 s in a process, so a warning means at least one span lost, not how many."""


def _version_of(command: list[str]) -> str:
    if shutil.which(command[0]) is None and not Path(command[0]).is_file():
        return "not installed"
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=10)
    text = (result.stdout + result.stderr).strip().splitlines()
    return text[0] if text else "unknown"


@dataclass(frozen=True)
class Machine:
    """The machine and software the figures come from."""

    host: str
    system: str
    cores: int | None
    cpu: str
    load_average: tuple[float, float, float]
    """At the end of the run."""
    python: str
    packages: dict[str, str]
    nginx: str
    wrk: str

    @classmethod
    def read(cls) -> "Machine":
        """Read this machine."""
        packages = {}
        for name in _PACKAGES:
            try:
                packages[name] = version(name)
            except PackageNotFoundError:
                continue
        return cls(
            host=platform.node(),
            system=f"{platform.system()} {platform.release()} ({platform.machine()})",
            cores=os.cpu_count(),
            cpu=_cpu_model(),
            load_average=os.getloadavg(),
            python=f"{platform.python_version()} ({platform.python_implementation()})",
            packages=packages,
            nginx=_version_of([str(find_nginx()), "-v"]),
            wrk=_version_of(["wrk", "-v"]),
        )

    def lines(self) -> list[str]:
        """The report's lines on the machine."""
        load = ", ".join(f"{x:.2f}" for x in self.load_average)
        packages = ", ".join(f"{name} {number}" for name, number in self.packages.items())
        return [
            f"- host: {self.host}, {self.system}",
            f"- CPU cores: {self.cores} ({self.cpu}); load average at the end: {load}",
            f"- Python {self.python}",
            f"- packages: {packages}",
            f"- nginx: {self.nginx}; wrk: {self.wrk}",
        ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def dropped_spans_lines(logs: Iterable[Path]) -> list[str]:
    """Say whether any process's exporter dropped spans in the run, from its log."""
    read = sorted(logs)
    warned: dict[str, int] = {}
    for log in read:
        with log.open(encoding="utf-8", errors="replace") as lines:
            count = sum(DROPPED_SPANS_WARNING in line for line in lines)
        if count:
            warned[log.name] = count
    if not warned:
        return [
            f"No span dropped by an exporter: no `{DROPPED_SPANS_WARNING}` warning in the "
            f"{len(read)} logs of the stack and the bench's servers."
        ]
    listed = ", ".join(f"{name} ({count})" for name, count in warned.items())
    return [
        f"**Spans dropped** by an exporter whose queue was full, in: {listed} (warnings; each is "
        "at least one span lost, and a process warns at most once every 20 s)."
    ]


SLOW_SPELL = 0.10
"""How far above the median of the run's back-to-back yardstick readings (before the stack started,
before each workload, after it stopped) a workload's own marks a slow spell. Over the three full
runs of 2026-12-06 that read it before each workload, a reading rose at most 5 % above the median
of its run's workload readings but once: 50.0 µs against 44.8 as core's hop began, and the hop
missed its goal (+3.02 ms; +1.35 in the next run, its reading 43.6 µs). The readings around the
workloads count too: in a run of one workload its own reading would be the median, and that
workload could never read slow. The reading after a pause stands beside it with no mark of its
own: it moves far more from one minute to the next (205-418 µs over eight readings a minute apart
on 2026-12-06 with nothing else running, the back-to-back one 48-88), and how it goes with the
goals is not yet known."""


BUSY = 0.10
"""The cores the processes outside the bench must have used while a workload ran to mark a miss
there: a twentieth of the 2-core machine the goals were set on. With nothing else running, they
read 0.00-0.01."""


def usual_speed(speed: Speed) -> float:
    """The median of the run's back-to-back yardstick readings, in µs per call."""
    return statistics.median(reading.hot_us for reading in speed.readings())


@dataclass(frozen=True)
class Judged:
    """One goal as the report judges it: its workload and what the machine did beside it."""

    workload: str
    goal: Goal
    reading: Reading | None
    """The yardstick as its workload began; None if unread."""
    above: float
    """How far that reading sat above the run's usual speed (0 when unread): 0.12 is 12 % slow."""
    others: Others | None
    """What the processes outside the bench used while its workload ran; None if unread."""

    @property
    def slow(self) -> bool:
        return self.above >= SLOW_SPELL

    @property
    def busy(self) -> bool:
        return self.others is not None and self.others.cores >= BUSY


def judged(sections: list[Section], speed: Speed) -> list[Judged]:
    """Every goal of the run, in the report's order, with the machine beside it."""
    usual = usual_speed(speed)
    return [
        Judged(
            section.key,
            goal,
            section.speed,
            0.0 if section.speed is None else section.speed.hot_us / usual - 1,
            section.others,
        )
        for section in sections
        for goal in section.goals
    ]


def goals_lines(sections: list[Section], speed: Speed) -> list[str]:
    """Return the goals summary as markdown lines.

    A goal missed while the machine ran slow (its workload's yardstick reading back to back
    ``SLOW_SPELL`` or more above the median of ``speed``'s), or while processes outside the bench
    used ``BUSY`` cores or more, says so in its row and in the count: a near-line miss there may
    be the machine's, not the code's. Each row says how many of the goal's repeats met it on
    their own figures, and the count names the misses some repeats met: near the line, where
    another run may fall on its other side.
    """
    goals = judged(sections, speed)
    met = sum(each.goal.met for each in goals)
    rows = []
    missed_slow = missed_busy = near = 0
    for each in goals:
        goal = each.goal
        verdict = "met" if goal.met else "**missed**"
        reading = reading_text(each.reading)
        slow = not goal.met and each.slow
        busy = not goal.met and each.busy
        cores = "not measured" if each.others is None else f"{each.others.cores:.2f}"
        speed_cell = f"{reading}, {each.above * 100:.0f} % slow" if slow else reading
        others_cell = f"{cores}, busy" if busy else cores
        missed_slow += slow
        missed_busy += busy
        repeats = NOT_MEASURED if goal.repeats is None else "{} of {}".format(*goal.repeats)
        near += not goal.met and goal.repeats is not None and goal.repeats[0] > 0
        rows.append(
            f"| {verdict} | {goal.name} | {goal.measured} | {repeats} | {speed_cell} "
            f"| {others_cell} |"
        )
    why = []
    if missed_slow:
        why.append(
            f"{missed_slow} while the machine ran slow (the yardstick as its workload began, back "
            f"to back, {SLOW_SPELL * 100:.0f} % or more above the median of the run's readings, "
            f"{usual_speed(speed):.1f} µs)"
        )
    if missed_busy:
        why.append(f"{missed_busy} while processes outside the bench used {BUSY:.2f} cores or more")
    if near:
        why.append(f"{near} met in some of {'its' if near == 1 else 'their'} repeats")
    summary = f"{met} of {len(goals)} goals met"
    if why:
        summary += f"; of the {len(goals) - met} missed, {' and '.join(why)}"
    header = (
        "| | goal | measured | repeats meeting it | yardstick as its workload began, µs back to "
        "back / after a pause | other processes while it ran, cores |"
    )
    return [summary + ".", "", header, "|---|---|---|---|---|---|", *rows]


def speed_line(section: Section) -> str | None:
    """Say how fast the machine was as the workload began and what else used its CPU while the
    workload ran, or None if neither was read."""
    said = []
    if section.speed is not None:
        said.append(
            f"Yardstick as this workload began: {section.speed.text()} µs per call back to back "
            "/ after a pause (lower is faster; the machine's readings before the others are "
            "under Machine)."
        )
    if section.others is not None:
        said.append(f"Processes outside the bench used {section.others.text()} while it ran.")
    return " ".join(said) or None


def section_lines(section: Section, out: Path) -> list[str]:
    """Return one workload's part of the report."""
    lines = [f"## {section.title}", "", section.about, ""]
    speed = speed_line(section)
    if speed is not None:
        lines += [speed, ""]
    for caption, table in section.tables:
        lines += [f"**{caption}**", "", *table.markdown(), ""]
    lines += [f"![{chart.stem}]({chart.relative_to(out)})" for chart in section.charts]
    if section.charts:
        lines.append("")
    lines += [note if note.startswith("- ") else f"> {note}" for note in section.notes]
    return [*lines, ""] if section.notes else lines


RESULTS = "results.json"
"""The file a run writes beside its report, for programs: :func:`results` is its content."""

RESULTS_FORMAT = 1
"""The layout of ``results.json``: ``compare`` reads this one and refuses any other."""


@dataclass(frozen=True)
class Run:
    """One run of the bench, as its report and its results file tell it."""

    sections: list[Section]
    settings: Settings
    speed: Speed
    tools: frozenset[str]
    """The load generators that measured it."""
    seconds: float
    spans: list[str]
    """From :func:`dropped_spans_lines`."""
    outside: Others
    """What the processes outside the bench used over the whole run."""
    machine: Machine
    finished: datetime


def render(run: Run, out: Path) -> str:
    """Return the whole report as markdown (charts linked relative to ``out``)."""
    settings = run.settings
    lines = [
        f"# make bench: {run.finished.strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"Run took {run.seconds / 60:.1f} min. Load generator: "
        f"{', '.join(sorted(run.tools)) or 'none'}. "
        f"Each figure is the median over {settings.repeats} runs with (min-max), the gateway's "
        f"over {settings.gateway_repeats} and cold starts over {settings.cold_repeats}; every "
        "ratio is taken within one repeat, then its median reported.",
        "",
        "## Machine",
        "",
        *run.machine.lines(),
        f"- {run.speed.line()}",
        "- processes outside the bench (the stack, its servers and the load generator are the "
        f"bench's) used {run.outside.text()} over the run; each workload's part says what they "
        "used while it ran",
        f"- settings: {settings}",
        "",
        "## Goals",
        "",
        *goals_lines(run.sections, run.speed),
        "",
        "## Spans",
        "",
        *run.spans,
        "",
    ]
    for section in run.sections:
        lines += section_lines(section, out)
    return "\n".join(lines) + "\n"


def _reading(reading: Reading | None) -> dict[str, float] | None:
    return None if reading is None else {"hot_us": reading.hot_us, "cold_us": reading.cold_us}


def results(run: Run) -> dict[str, Any]:
    """Return the run as ``results.json`` holds it: what the report says, for programs to read
    (``python -m strangler_bench.compare`` sets two runs' goals side by side)."""
    speed = run.speed
    return {
        "format": RESULTS_FORMAT,
        "finished": run.finished.isoformat(timespec="seconds"),
        "minutes": round(run.seconds / 60, 1),
        "load_generators": sorted(run.tools),
        "settings": asdict(run.settings),
        "machine": asdict(run.machine),
        "yardstick": {
            "usual_hot_us": usual_speed(speed),
            "start": _reading(speed.start),
            "workloads": {name: _reading(reading) for name, reading in speed.workloads},
            "end": _reading(speed.end),
        },
        "outside_cores": run.outside.cores,
        "spans": run.spans,
        "failed": [section.key for section in run.sections if section.failed],
        "goals": [
            {
                "workload": each.workload,
                "name": each.goal.name,
                "met": each.goal.met,
                "measured": each.goal.measured,
                "repeats": None if each.goal.repeats is None else list(each.goal.repeats),
                "figures": [list(values) for values in each.goal.figures],
                "yardstick": _reading(each.reading),
                "slow": each.slow,
                "other_cores": None if each.others is None else each.others.cores,
                "busy": each.busy,
            }
            for each in judged(run.sections, speed)
        ],
        "tables": [
            {"workload": section.key, "caption": caption, **asdict(table)}
            for section in run.sections
            for caption, table in section.tables
        ],
    }
