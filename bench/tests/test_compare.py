"""Two runs' goals side by side, from the results files the bench writes."""

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from strangler_bench.calibration import Reading, Speed
from strangler_bench.compare import main, previous
from strangler_bench.context import Settings
from strangler_bench.model import Goal, Section
from strangler_bench.others import Others
from strangler_bench.report import RESULTS, Machine, Run, results

MACHINE = Machine(
    "bench-host", "Linux 6.1 (x86_64)", 2, "AMD EPYC", (0.5, 0.6, 0.7), "3.11.7 (CPython)", {},
    "nginx version: nginx/1.31.3", "wrk 4.1.0",
)  # fmt: skip
QUIET = Others(0.01, ())


def _run(
    folder: Path,
    hot_us: float,
    *goals: tuple[str, Goal],
    settings: Settings | None = None,
    failed: str | None = None,
    finished: datetime = datetime(2026, 12, 6, 8, 7, tzinfo=UTC),
) -> Path:
    """Write a run's results file whose workloads began at ``hot_us`` and held ``goals``."""
    sections: dict[str, Section] = {}
    for key, goal in goals:
        section = sections.setdefault(
            key, Section(key, key, "", speed=Reading(hot_us, 200.0), others=QUIET)
        )
        section.goals.append(goal)
    if failed is not None:
        sections[failed] = Section(failed, f"{failed}: failed", "", failed=True)
        sections[failed].goals.append(Goal(f"{failed} workload ran", False, "TimeoutError"))
    readings = [(key, section.speed) for key, section in sections.items()]
    speed = Speed(Reading(hot_us, 200.0), Reading(hot_us, 200.0), readings)
    run = Run(
        list(sections.values()), settings or Settings(), speed, frozenset({"wrk"}), 1630.0,
        [], QUIET, MACHINE, finished,
    )  # fmt: skip
    folder.mkdir()
    (folder / RESULTS).write_text(json.dumps(results(run)))
    return folder


# Shaped after the full runs of 2026-12-06 08:07 and 17:20 UTC: core's share through the gateway
# near its line, tracing on search missed in both, the machine slower in the second.
SHARE = Goal("gateway >= 80 % of direct rps (core)", True, "84 % (76-90)", (5, 7))
TRACING = Goal("tracing costs <= 10% rps: search on rag", False, "20 % (18-25)", (0, 3))
HOP = Goal("core's hop to rag adds <= 3 ms p50 at 1 client", False, "3.02 ms", (1, 3))


def _two_runs(tmp_path: Path) -> tuple[Path, Path]:
    old = _run(tmp_path / "0807", 43.6, ("gateway", SHARE), ("tracing", TRACING), ("internal", HOP))
    new = _run(
        tmp_path / "1720",
        49.5,
        ("gateway", replace(SHARE, met=False, measured="78 % (69-92)", repeats=(3, 7))),
        ("tracing", replace(TRACING, measured="24 % (23-34)")),
        ("internal", replace(HOP, met=True, measured="2.52 ms", repeats=(3, 3))),
        finished=datetime(2026, 12, 6, 17, 20, tzinfo=UTC),
    )
    return old, new


def test_each_goal_of_two_runs_is_set_side_by_side_with_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _two_runs(tmp_path)

    assert main([str(old), str(new / RESULTS)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert (
        f"- old: `{old / RESULTS}`, finished 2026-12-06T08:07:00+00:00: 1 of 3 goals met; the "
        "yardstick 43.6 µs back to back (the median of its readings)" in out
    )
    assert (
        f"- new: `{new / RESULTS}`, finished 2026-12-06T17:20:00+00:00: 1 of 3 goals met; the "
        "yardstick 49.5 µs back to back (the median of its readings)" in out
    )
    assert (
        "- The machine ran 14 % slower in the new run by the yardstick: a goal near its line may "
        "have moved with it." in out
    )
    assert "1 now met, 1 now missed, 1 the same." in out
    assert {
        "| gateway | gateway >= 80 % of direct rps (core) | met: 84 % (76-90), 5 of 7 repeats "
        "| **missed**: 78 % (69-92), 3 of 7 repeats | **now missed** |",
        "| tracing | tracing costs <= 10% rps: search on rag | **missed**: 20 % (18-25), 0 of 3 "
        "repeats | **missed**: 24 % (23-34), 0 of 3 repeats |  |",
        "| internal | core's hop to rag adds <= 3 ms p50 at 1 client | **missed**: 3.02 ms, 1 of 3 "
        "repeats | met: 2.52 ms, 3 of 3 repeats | now met |",
    } <= set(out), out
    assert not any(line.startswith("- Settings differ") for line in out)


def test_strict_stops_on_a_goal_met_before_and_missed_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _two_runs(tmp_path)

    assert main(["--strict", str(old), str(new)]) == 1
    assert capsys.readouterr().err == (
        "compare: worse in the new run: gateway >= 80 % of direct rps (core) (gateway)\n"
    )
    # Against itself nothing is worse, and a goal missed in both is no regression.
    assert main(["--strict", str(new), str(new)]) == 0
    assert "3 the same." in capsys.readouterr().out


def test_a_workload_failed_in_the_new_run_is_worse_and_its_goals_are_in_one_run_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _run(tmp_path / "old", 44.0, ("gateway", SHARE), ("tracing", TRACING))
    new = _run(tmp_path / "new", 44.5, ("gateway", SHARE), failed="tracing")

    assert main(["--strict", str(old), str(new)]) == 1

    captured = capsys.readouterr()
    assert captured.err == "compare: worse in the new run: the tracing workload failed\n"
    out = captured.out.splitlines()
    assert "1 the same, 2 in one run only." in out
    assert (
        "| tracing | tracing workload ran | not run | **missed**: TimeoutError "
        "| only in the new run |" in out
    )
    assert (
        "| tracing | tracing costs <= 10% rps: search on rag | **missed**: 20 % (18-25), 0 of 3 "
        "repeats | not run | only in the old run |" in out
    )
    # Within 10 % of each other, the machine's speed goes unremarked.
    assert not any(line.startswith("- The machine ran") for line in out)


def test_a_miss_on_a_slow_or_busy_machine_says_so_in_its_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _two_runs(tmp_path)
    data = json.loads((new / RESULTS).read_text())
    # As the report judged them: the gateway workload began 12 % slow beside a test suite.
    data["goals"][0].update(slow=True, busy=True)
    (new / RESULTS).write_text(json.dumps(data))

    assert main([str(old), str(new)]) == 0

    assert (
        "| gateway | gateway >= 80 % of direct rps (core) | met: 84 % (76-90), 5 of 7 repeats "
        "| **missed**: 78 % (69-92), 3 of 7 repeats, while the machine ran slow, beside busy "
        "processes | **now missed** |" in capsys.readouterr().out.splitlines()
    )


def test_settings_that_differ_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _run(tmp_path / "full", 44.0, ("gateway", SHARE))
    quick = Settings(repeats=1, concurrencies=(10,))
    new = _run(tmp_path / "quick", 44.0, ("gateway", SHARE), settings=quick)

    assert main([str(old), str(new)]) == 0

    assert (
        "- Settings differ, so the figures are not like for like: concurrencies [50, 200, 500] "
        "-> [10], repeats 3 -> 1." in capsys.readouterr().out.splitlines()
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file (a run of the bench writes results.json)"),
        ("{ not json", "not JSON (line 1: Expecting property name enclosed in double quotes)"),
        ('{"format": 2, "goals": []}', "not a bench's results of format 1 (its format: 2)"),
        ("[1, 2]", "not a bench's results of format 1 (its format: None)"),
        (
            '{"format": 1, "goals": [{"name": "x"}], "yardstick": {"usual_hot_us": 44.0}}',
            "its goals or its yardstick are not as a run writes them",
        ),
        (
            '{"format": 1, "goals": [{"workload": "w", "name": "x", "met": true, "measured": "1",'
            ' "repeats": [3]}], "yardstick": {"usual_hot_us": 44.0}}',
            "its goals or its yardstick are not as a run writes them",
        ),
        (
            '{"format": 1, "goals": [], "yardstick": [44.0]}',
            "its goals or its yardstick are not as a run writes them",
        ),
    ],
)
def test_a_file_that_is_not_a_run_s_results_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, says: str
) -> None:
    good = _run(tmp_path / "good", 44.0, ("gateway", SHARE))
    bad = tmp_path / "bad"
    bad.mkdir()
    if content is not None:
        (bad / RESULTS).write_text(content)

    assert main([str(good), str(bad)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"compare: {bad / RESULTS}: {says}\n"


def test_the_run_before_is_the_newest_other_folder_with_results(tmp_path: Path) -> None:
    first = _run(tmp_path / "20261206T080700Z", 44.0, ("gateway", SHARE))
    second = _run(tmp_path / "20261206T172000Z", 44.0, ("gateway", SHARE))
    os.utime(first / RESULTS, (1_000, 1_000))
    os.utime(second / RESULTS, (2_000, 2_000))
    this = tmp_path / "20261206T200000Z"
    this.mkdir()
    (tmp_path / "a-run-that-failed-before-writing").mkdir()

    assert previous(this) == second
    assert previous(second) == first
    assert previous(tmp_path / "nowhere" / "run") is None
