"""The report says whether any exporter dropped spans during the run, read from the logs."""

import json
from pathlib import Path

from strangler_bench.report import dropped_spans_lines

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
