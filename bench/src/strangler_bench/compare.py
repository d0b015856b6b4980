"""``python -m strangler_bench.compare OLD NEW``: two runs' goals side by side.

Every run of the bench writes ``results.json`` beside its report. This reads two (their folders
or the files) and prints a markdown table of their goals: each run's verdict, figure and the
repeats that met it, and what changed. Above it, how fast the machine ran in each (the
yardstick's usual reading, back to back) and which settings differ: a goal near its line that
flips while the machine ran 10 % slower may have moved with the machine, not with the code.

With ``--strict`` it exits 1 when a goal met in the old run is missed in the new one, or a
workload failed in the new one: a pipeline can stop there. It exits 2 when a file cannot be read
as a run's results.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strangler_bench.report import RESULTS, RESULTS_FORMAT, SLOW_SPELL

_GOAL_FIELDS = ("workload", "name", "met", "measured")


class Unreadable(Exception):
    """A path that does not hold a run's results: the message says why."""


@dataclass(frozen=True)
class Results:
    """One run's results file, read."""

    file: Path
    data: dict[str, Any]

    @property
    def goals(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The run's goals by workload and name, in the report's order."""
        return {(goal["workload"], goal["name"]): goal for goal in self.data["goals"]}

    @property
    def usual_us(self) -> float:
        return float(self.data["yardstick"]["usual_hot_us"])

    def summary(self) -> str:
        goals = self.data["goals"]
        met = sum(bool(goal["met"]) for goal in goals)
        return (
            f"`{self.file}`, finished {self.data.get('finished', 'at an unknown time')}: {met} of "
            f"{len(goals)} goals met; "
            f"the yardstick {self.usual_us:.1f} µs back to back (the median of its readings)"
        )


def read(path: Path) -> Results:
    """Read a run's results from its folder or its file; raise :class:`Unreadable` if it holds
    none of this format."""
    file = path / RESULTS if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Unreadable(f"{file}: no such file (a run of the bench writes {RESULTS})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise Unreadable(f"{file}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise Unreadable(f"{file}: not JSON (line {error.lineno}: {error.msg})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != RESULTS_FORMAT:
        raise Unreadable(
            f"{file}: not a bench's results of format {RESULTS_FORMAT} (its format: {found!r})"
        )
    goals, yardstick = data.get("goals"), data.get("yardstick")
    usual = yardstick.get("usual_hot_us") if isinstance(yardstick, dict) else None
    if (
        not isinstance(goals, list)
        or not all(_as_written(goal) for goal in goals)
        or not isinstance(usual, int | float)
        or usual <= 0
    ):
        raise Unreadable(f"{file}: its goals or its yardstick are not as a run writes them")
    return Results(file, data)


def _as_written(goal: object) -> bool:
    if not isinstance(goal, dict) or not set(_GOAL_FIELDS) <= goal.keys():
        return False
    repeats = goal.get("repeats")
    return repeats is None or (
        isinstance(repeats, list) and len(repeats) == 2 and all(isinstance(n, int) for n in repeats)
    )


def _cell(goal: dict[str, Any] | None) -> str:
    if goal is None:
        return "not run"
    said = f"{'met' if goal['met'] else '**missed**'}: {goal['measured']}"
    if goal.get("repeats"):
        said += ", {} of {} repeats".format(*goal["repeats"])
    if not goal["met"] and goal.get("slow"):
        said += ", while the machine ran slow"
    if not goal["met"] and goal.get("busy"):
        said += ", beside busy processes"
    return said


def _change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    if old is None or new is None:
        return f"only in the {'new' if old is None else 'old'} run"
    if old["met"] == new["met"]:
        return ""
    return "now met" if new["met"] else "**now missed**"


def _settings(old: Results, new: Results) -> list[str]:
    before, after = old.data.get("settings", {}), new.data.get("settings", {})
    return [
        f"{key} {before.get(key)} -> {after.get(key)}"
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def lines(old: Results, new: Results) -> list[str]:
    """The comparison as markdown lines: the two runs, then a row per goal."""
    said = ["# Goals of two runs of the bench", "", f"- old: {old.summary()}"]
    said.append(f"- new: {new.summary()}")
    ratio = new.usual_us / old.usual_us - 1
    if abs(ratio) >= SLOW_SPELL:
        said.append(
            f"- The machine ran {abs(ratio) * 100:.0f} % {'slower' if ratio > 0 else 'faster'} "
            "in the new run by the yardstick: a goal near its line may have moved with it."
        )
    differ = _settings(old, new)
    if differ:
        differ_text = ", ".join(differ)
        said.append(f"- Settings differ, so the figures are not like for like: {differ_text}.")
    before, after = old.goals, new.goals
    keys = [*after, *(key for key in before if key not in after)]
    changes = [_change(before.get(key), after.get(key)) for key in keys]
    counts = {
        "now met": changes.count("now met"),
        "now missed": changes.count("**now missed**"),
        "the same": changes.count(""),
        "in one run only": sum(change.startswith("only") for change in changes),
    }
    counted = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
    said += ["", f"{counted or 'No goals in either run'}.", ""]
    said += ["| workload | goal | old | new | change |", "|---|---|---|---|---|"]
    said += [
        f"| {workload} | {name} | {_cell(before.get((workload, name)))} "
        f"| {_cell(after.get((workload, name)))} | {change} |"
        for (workload, name), change in zip(keys, changes, strict=True)
    ]
    return said


def regressions(old: Results, new: Results) -> list[str]:
    """What ``--strict`` stops on: goals met in the old run and missed in the new one, and the
    new run's failed workloads."""
    before = old.goals
    missed = [
        f"{name} ({workload})"
        for (workload, name), goal in new.goals.items()
        if not goal["met"] and before.get((workload, name), {}).get("met")
    ]
    return missed + [f"the {key} workload failed" for key in new.data.get("failed", [])]


def previous(out: Path) -> Path | None:
    """The newest other run beside ``out`` (its folder), or None."""
    if not out.parent.is_dir():
        return None
    runs = [
        folder for folder in out.parent.iterdir() if folder != out and (folder / RESULTS).is_file()
    ]
    return max(runs, key=lambda folder: (folder / RESULTS).stat().st_mtime, default=None)


def main(argv: list[str] | None = None) -> int:
    """Print two runs' goals side by side; the exit status as the module's doc says."""
    p = argparse.ArgumentParser(
        prog="python -m strangler_bench.compare",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("old", type=Path, help=f"the earlier run's folder or its {RESULTS}")
    p.add_argument("new", type=Path, help=f"the later run's folder or its {RESULTS}")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if a goal met in OLD is missed in NEW or a workload failed in NEW",
    )
    args = p.parse_args(argv)
    try:
        old, new = read(args.old), read(args.new)
    except Unreadable as error:
        print(f"compare: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines(old, new)))
    worse = regressions(old, new)
    if args.strict and worse:
        print(f"compare: worse in the new run: {'; '.join(worse)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
