"""The `traces` command as a user runs it: list, show (by id or prefix), and its failures."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tracestore.store import TraceStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER_TRACE = "4bf9" + "0" * 28
ROUTE = "/api/customers/{id}/suggestions"
GRPC = "/strangler.core.v1.CoreService/GetCustomer"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    command = [sys.executable, "-m", "tracestore", *args]
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=60)


@pytest.fixture
def db(tmp_path: Path, make_span: Any) -> Path:
    """A store holding one core -> rag -> core trace, an orphan span, and a second trace."""
    path = tmp_path / "traces.sqlite3"
    spans = [
        make_span(
            TRACE,
            "a000000000000001",
            None,
            name=f"GET {ROUTE}",
            service="core",
            start_ms=0,
            end_ms=42.5,
            attributes={"http.route": ROUTE},
        ),
        make_span(
            TRACE,
            "a000000000000002",
            "a000000000000001",
            name="GET rag",
            service="core",
            start_ms=2,
            end_ms=40,
        ),
        make_span(
            TRACE,
            "a000000000000003",
            "a000000000000002",
            name="GET /internal/x",
            service="rag",
            start_ms=3,
            end_ms=39,
        ),
        make_span(
            TRACE,
            "a000000000000004",
            "a000000000000003",
            name=GRPC,
            service="rag",
            start_ms=5,
            end_ms=12,
            attributes={"rpc.method": "GetCustomer"},
        ),
        make_span(
            TRACE,
            "a000000000000005",
            "a000000000000004",
            name=GRPC,
            service="core",
            start_ms=6,
            end_ms=11.25,
            status="ERROR",
        ),
        make_span(
            TRACE,
            "a000000000000006",
            "ffffffffffffffff",
            name="late sync",
            service="rag",
            start_ms=50,
            end_ms=51,
        ),
        make_span(
            OTHER_TRACE,
            "b000000000000001",
            None,
            name="POST /webhooks/stripe",
            service="webhooks",
            start_ms=100,
            end_ms=103,
        ),
    ]
    with TraceStore(path) as store:
        store.insert(spans)
    return path


def _column(lines: list[str], text: str) -> tuple[int, int]:
    """Return (line number, column) of the first line containing text."""
    for number, line in enumerate(lines):
        if text in line:
            return number, line.index(text)
    raise AssertionError(f"{text!r} not in output:\n" + "\n".join(lines))


def test_list_shows_services_spans_and_durations(db: Path) -> None:
    result = _run("list", "--db", str(db))

    assert result.returncode == 0, result.stderr
    trace_line = next(line for line in result.stdout.splitlines() if TRACE in line)
    assert f"core: GET {ROUTE}" in trace_line
    assert "core, rag" in trace_line
    assert " 6 " in trace_line
    assert "51.00" in trace_line
    assert "error" in trace_line
    assert "webhooks" in result.stdout


def test_list_filters_by_service_and_reads_traces_db_from_env(db: Path) -> None:
    result = _run("list", "--service", "webhooks", env={"TRACES_DB": str(db)})

    assert result.returncode == 0, result.stderr
    assert OTHER_TRACE in result.stdout
    assert TRACE not in result.stdout


def test_show_nests_spans_with_durations_status_and_key_attributes(db: Path) -> None:
    result = _run("show", "--db", str(db), TRACE[:8].upper())

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    chain = [
        f"core  GET {ROUTE}",
        "core  GET rag",
        "rag  GET /internal/x",
        f"rag  {GRPC}",
        f"core  {GRPC}",
    ]
    positions = [_column(lines, text) for text in chain]
    assert [row for row, _ in positions] == sorted(row for row, _ in positions)
    columns = [column for _, column in positions]
    assert all(inner > outer for outer, inner in itertools.pairwise(columns))
    assert "42.50 ms" in lines[positions[0][0]]
    assert "5.25 ms  ERROR: boom" in lines[positions[4][0]]
    assert f"http.route = {ROUTE}" in lines[positions[0][0] + 1]
    assert "rpc.method = GetCustomer" in lines[positions[3][0] + 1]
    orphan_row, orphan_column = _column(lines, "rag  late sync")
    assert "(parent not received)" in lines[orphan_row]
    assert orphan_column == columns[0]


def test_show_through_the_console_script(db: Path) -> None:
    script = Path(sys.executable).parent / "traces"
    env = {**os.environ, "COLUMNS": "200"}
    command = [str(script), "show", "--db", str(db), OTHER_TRACE]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "webhooks  POST /webhooks/stripe" in result.stdout
    assert "3.00 ms" in result.stdout


@pytest.mark.parametrize(
    ("trace_id", "message"),
    [
        ("c" * 32, "No trace with id"),
        ("4bf9", "ambiguous"),
        ("not-a-trace", "not a trace id"),
    ],
    ids=["unknown", "ambiguous-prefix", "not-hex"],
)
def test_show_refuses_unknown_ambiguous_or_malformed_ids(
    db: Path, trace_id: str, message: str
) -> None:
    result = _run("show", "--db", str(db), trace_id)

    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    result = _run("list", "--db", str(tmp_path / "none.sqlite3"))

    assert result.returncode == 1
    assert "No trace database at" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()
