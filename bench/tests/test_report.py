"""The report: whether any exporter dropped spans (read from the logs), and the machine's speed
beside each workload's goals and tables."""

import json
from pathlib import Path

from strangler_bench.model import Goal, Section
from strangler_bench.report import dropped_spans_lines, goals_lines, section_lines

# A line as a service writes it when the SDK's batch processor drops a span.
WARNING = json.dumps(
    {
        "time": "2026-12-05T20:14:21+0000",
        "level": "warning",
        "service": "rag",
        "logger": "opentelemetry.sdk._shared_internal",
        "message": "Queue full, dropping Span.",
    }
)


def _log(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_a_run_whose_logs_hold_no_warning_says_no_span_was_dropped(tmp_path: Path) -> None:
    logs = [
        _log(tmp_path, "rag.log", "INFO:     Application startup complete."),
        _log(tmp_path, "core-http.log"),
    ]

    (line,) = dropped_spans_lines(logs)

    assert line.startswith("No span dropped by an exporter") and "in the 2 logs" in line


def test_each_log_with_the_sdk_s_warning_is_named_with_its_count(tmp_path: Path) -> None:
    logs = [
        _log(tmp_path, "rag.log", WARNING, "INFO: ok", WARNING),
        _log(tmp_path, "core-http.log", "INFO: ok"),
        _log(tmp_path, "tracing-rag-elsewhere.log", WARNING),
    ]

    (line,) = dropped_spans_lines(logs)

    assert line.startswith("**Spans dropped**")
    assert "rag.log (2)" in line and "tracing-rag-elsewhere.log (1)" in line
    assert "core-http.log" not in line


def _section_with_goals(key: str, speed_us: float | None, *goals: Goal) -> Section:
    section = Section(key, f"{key} title", "about it", speed_us=speed_us)
    section.goals.extend(goals)
    return section


def test_each_goal_row_gives_the_machine_s_speed_as_its_workload_began() -> None:
    sections = [
        _section_with_goals("gateway", 42.04, Goal("gateway adds <= 1 ms", True, "0.4 ms")),
        _section_with_goals("internal", 47.26, Goal("hop adds <= 3 ms", False, "3.1 ms")),
        _section_with_goals("tracing", None, Goal("tracing <= 10 %", False, "20 %")),
    ]

    lines = goals_lines(sections)

    assert lines[0] == "1 of 3 goals met."
    assert "| goal | measured | yardstick as its workload began, µs |" in lines[2]
    assert "| met | gateway adds <= 1 ms | 0.4 ms | 42.0 |" in lines
    assert "| **missed** | hop adds <= 3 ms | 3.1 ms | 47.3 |" in lines
    assert "| **missed** | tracing <= 10 % | 20 % | not measured |" in lines


def test_a_workload_s_part_says_how_fast_the_machine_was_as_it_began(tmp_path: Path) -> None:
    text = "\n".join(section_lines(_section_with_goals("internal", 47.26), tmp_path))

    assert "Yardstick as this workload began: 47.3 µs per call" in text
    assert "Yardstick" not in "\n".join(section_lines(_section_with_goals("x", None), tmp_path))
