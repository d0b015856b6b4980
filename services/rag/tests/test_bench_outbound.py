"""The outbound-client benchmark: its delayed model server, its numbers and its table.

Only that the command measures what it says; how fast the client is stays a benchmark result
(services/rag/README.md), never a test.
"""

import time
from collections import Counter

import httpx
import pytest
from rag.bench.outbound import HEADER, Pool, Row, main, percentile, running_upstream, table


def test_the_model_server_waits_the_delay_in_its_url_before_the_first_token() -> None:
    with running_upstream() as base_url:
        started = time.monotonic()
        with httpx.stream(
            "POST",
            f"{base_url}/after/0.4/v1/chat/completions",
            json={"model": "m", "stream": True, "messages": []},
            timeout=10,
        ) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data:"))
            waited = time.monotonic() - started
            rest = list(lines)
    assert waited >= 0.4
    assert '"content"' in first
    assert "data: [DONE]" in rest


@pytest.mark.parametrize(("share", "expected"), [(0.0, 1.0), (0.5, 3.0), (0.99, 5.0), (1.0, 5.0)])
def test_percentile_is_the_nearest_rank(share: float, expected: float) -> None:
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], share) == expected


def test_a_row_names_its_failures_and_compares_wall_time_with_the_ideal() -> None:
    failures = Counter({"PoolTimeout": 3, "ConnectTimeout": 1})
    row = Row(Pool("p", "httpx", 100, 20), 8, [0.1, 0.2, 0.3, 0.4], failures, wall=10.0,
              ideal=5.0, cpu_seconds=0.02)  # fmt: skip
    cells = dict(zip(HEADER, row.cells(), strict=True))
    assert cells["client (max/keep-alive)"] == "p (100/20)"
    assert cells["client CPU ms/call"] == "2.50"
    assert cells["calls"] == "8"
    assert cells["failed"] == "4 (3 PoolTimeout, 1 ConnectTimeout)"
    assert cells["of ideal"] == "50%"


def test_main_prints_one_row_per_client_and_concurrency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--concurrency", "2", "3", "--rounds", "2", "--min-delay", "0", "--max-delay", "0.05"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == table([]).splitlines()[0]
    rows = [line.split(" | ") for line in lines[2:]]
    assert [(row[1], row[2], row[3]) for row in rows] == [
        *[("2", "4", "0")] * 3,
        *[("3", "6", "0")] * 3,
    ]
    assert [row[0].removeprefix("| ").split(" (")[0] for row in rows[:3]] == [
        "httpx default",
        "httpx sized",
        "aiohttp, rag's session",
    ]
