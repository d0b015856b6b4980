"""The agreement measurement: its overlap rule and its table, against stand-in servers."""

import httpx
import pytest
from rag.bench.agreement import (
    CHAT_PARITY,
    SEARCH_PARITY,
    Comparison,
    compare,
    main,
    overlap,
    summary,
)
from rag.bench.queries import QUERIES


@pytest.mark.parametrize(
    ("legacy", "new", "expected"),
    [
        ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], 1.0),
        ([1, 2, 3, 4, 5], [1, 2, 3, 9, 8], 0.6),
        ([1, 2], [1, 2, 3, 4, 5], 0.4),
        ([], [], 1.0),
        ([], [1], 0.0),
    ],
)
def test_overlap_ignores_order_and_counts_against_the_longer_list(
    legacy: list[int], new: list[int], expected: float
) -> None:
    assert overlap(legacy, new) == pytest.approx(expected)


def _server(ids: list[int]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/search":
            return httpx.Response(200, json={"results": [{"id": i} for i in ids]})
        return httpx.Response(200, json={"sources": [{"id": i} for i in ids]})

    return httpx.MockTransport(handle)


def test_compare_asks_both_sides_every_query() -> None:
    legacy, new = _server([1, 2, 3]), _server([3, 2, 9])

    def route(request: httpx.Request) -> httpx.Response:
        side = legacy if request.url.host == "legacy" else new
        return side.handle_request(request)

    with httpx.Client(transport=httpx.MockTransport(route)) as client:
        comparisons = compare(client, "http://legacy", "http://new", 5, chat=False)
    assert [c.query for c in comparisons] == list(QUERIES)
    assert all(c.overlap == pytest.approx(2 / 3) and not c.same_first for c in comparisons)


def test_summary_reports_mean_overlap_parity_and_first_result() -> None:
    comparisons = [Comparison("a", [1, 2], [1, 2]), Comparison("b", [1, 2], [3, 4])]
    line = summary("search", comparisons, 0.6)
    assert "mean overlap 0.50" in line
    assert "parity (overlap >= 0.6) 50%" in line
    assert "same first result 50%" in line


def test_chat_parity_is_judged_by_its_own_rule() -> None:
    half = [Comparison("a", [1, 2, 3, 4], [1, 2, 8, 9])]
    assert "parity (overlap >= 0.5) 100%" in summary("chat sources", half, CHAT_PARITY)
    assert "parity (overlap >= 0.6) 0%" in summary("search", half, SEARCH_PARITY)


def test_main_says_so_when_a_side_is_down(
    free_port_number: int, capsys: pytest.CaptureFixture[str]
) -> None:
    down = f"http://127.0.0.1:{free_port_number}"
    assert main(["--legacy", down, "--new", down]) == 1
    assert "make up" in capsys.readouterr().err
