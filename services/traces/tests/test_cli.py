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


def test_show_tree_nests_spans_with_durations_status_and_key_attributes(db: Path) -> None:
    result = _run("show", "--tree", "--db", str(db), TRACE[:8].upper())

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
    row = next(line for line in result.stdout.splitlines() if "POST /webhooks/stripe" in line)
    assert row.split()[:4] == ["webhooks", "POST", "/webhooks/stripe", "0.00"]
    assert "3.00" in row
    assert "█" in row


def _bar(line: str) -> tuple[int, int]:
    """Return the (first, last) column of the bar drawn in a timeline row."""
    cells = [index for index, char in enumerate(line) if char in "█▏▎▍▌▋▊▉"]
    return cells[0], cells[-1]


def test_show_draws_a_timeline_with_offsets_durations_and_bars(db: Path) -> None:
    result = _run("show", "--db", str(db), TRACE[:8])

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "6 spans, 2 services, 51.00 ms" in lines[0]
    assert "routing: none recorded" in lines[1]
    names = [f"GET {ROUTE}", "GET rag", "GET /internal/x", GRPC, "late sync"]
    rows = [lines[_column(lines, name)[0]] for name in names]
    assert [row.split()[0] for row in rows] == ["core", "core", "rag", "rag", "rag"]
    root, client, server, grpc, late = (_bar(row) for row in rows)
    # Bars start in order and are as long as the spans on one axis (0..51 ms).
    assert root[0] < client[0] < server[0] < grpc[0] < late[0]
    width = late[1] - root[0] + 1
    root_cells = root[1] - root[0] + 1
    assert abs(root_cells - round(width * 42.5 / 51)) <= 1
    assert abs((grpc[1] - grpc[0] + 1) - round(width * 7 / 51)) <= 1
    assert late[1] == root[0] + width - 1
    assert "2.00" in rows[1] and "38.00" in rows[1]
    assert "(parent not received)" in rows[4]
    error_row = lines[_column(lines, f"{GRPC}  ERROR: boom")[0]]
    assert error_row.split()[0] == "core"


def test_show_prints_the_routing_decision_of_the_gateway_span(
    tmp_path: Path, make_span: Any
) -> None:
    path = tmp_path / "traces.sqlite3"
    decision = {
        "migration.route": "search",
        "migration.mode": "canary",
        "migration.target": "new",
        "migration.bucket": 7,
        "migration.fallback": False,
    }
    with TraceStore(path) as store:
        store.insert(
            [
                make_span(
                    TRACE,
                    "c" * 16,
                    "a" * 16,
                    name="GET /api/search",
                    service="rag",
                    start_ms=1,
                    end_ms=5,
                    attributes={**decision, "migration.target": "other"},
                ),
                make_span(
                    TRACE,
                    "a" * 16,
                    None,
                    name="GET search",
                    service="gateway",
                    start_ms=0,
                    end_ms=6,
                    attributes=decision,
                ),
            ]
        )

    result = _run("show", "--db", str(path), TRACE)

    assert result.returncode == 0, result.stderr
    assert (
        "routing: route search  mode canary  target new  bucket 7  fallback no  "
        "(from the gateway span)"
    ) in result.stdout


def test_list_filters_by_route_status_and_duration(tmp_path: Path, make_span: Any) -> None:
    path = tmp_path / "traces.sqlite3"
    slow, failed, other = "1" * 32, "2" * 32, "3" * 32
    with TraceStore(path) as store:
        store.insert(
            [
                make_span(
                    slow,
                    "1" * 16,
                    None,
                    name="slow",
                    service="gateway",
                    start_ms=0,
                    end_ms=90,
                    attributes={"migration.route": "search"},
                ),
                make_span(
                    failed,
                    "2" * 16,
                    None,
                    name="failed",
                    service="gateway",
                    start_ms=1,
                    end_ms=2,
                    status="ERROR",
                    attributes={"migration.route": "search"},
                ),
                make_span(
                    other,
                    "3" * 16,
                    None,
                    name="other",
                    service="core",
                    start_ms=2,
                    end_ms=95,
                    attributes={"migration.route": "chat"},
                ),
            ]
        )

    def listed(*args: str) -> list[str]:
        result = _run("list", "--db", str(path), *args)
        assert result.returncode == 0, result.stderr
        return [t for t in (slow, failed, other) if t in result.stdout]

    assert listed("--route", "search") == [slow, failed]
    assert listed("--route", "search", "--status", "ok") == [slow]
    assert listed("--status", "error") == [failed]
    assert listed("--min-ms", "50") == [slow, other]
    assert (
        "No traces matching the filters" in _run("list", "--db", str(path), "--route", "x").stdout
    )


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
