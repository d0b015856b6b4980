"""The shadow report and ``strangler shadow ROUTE``: parity, drops, noise, example diffs."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from strangler_gateway import cli
from strangler_gateway.cli.registry import all_commands
from strangler_gateway.cli.shadow import SHADOW_COMMAND, parse_window
from strangler_gateway.shadow import (
    Compare,
    Comparison,
    Outcome,
    PathDiff,
    ShadowError,
    shadow_report,
)
from strangler_gateway.shadow.models import MISSING
from strangler_gateway.shadow.store import ShadowStore

NOW = time.time()


def _comparison(
    outcome: Outcome, *, age: float = 0.0, route: str = "search", **extra: object
) -> Comparison:
    fields: dict[str, object] = {
        "time": NOW - age,
        "route": route,
        "method": "GET",
        "uri": "/api/search?q=card",
        "request_id": "r1",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "outcome": outcome,
        "rule": Compare.SEARCH,
        **extra,
    }
    return Comparison(**fields)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """Return a shadow database holding a day of comparisons of the search route."""
    path = tmp_path / "shadow.sqlite3"
    with ShadowStore(path) as store:
        for _ in range(6):
            store.record(_comparison(Outcome.MATCH, noise=("took_ms",)))
        store.record(_comparison(Outcome.MATCH, noise=("took_ms", "results[].score")))
        store.record(
            _comparison(
                Outcome.DIFF,
                overlap=0.4,
                diffs=(PathDiff("results[].id", [1, 2, 3], [1, 7, 8]),),
                legacy_status=200,
                new_status=200,
            )
        )
        store.record(_comparison(Outcome.DIFF, diffs=(PathDiff("k", 5, MISSING),), uri="/[bold]x"))
        store.record(_comparison(Outcome.TIMEOUT, detail="no answer within 2 s from: new"))
        store.record(_comparison(Outcome.ERROR, detail="new: ConnectError"))
        store.record(_comparison(Outcome.DIFF, age=86400))  # yesterday
        store.record(_comparison(Outcome.MATCH, route="chat"))
        store.add_drops({"search": 3, "chat": 1})
        store.add_drops({"search": 2}, at=NOW - 86400)
    yield path


def test_report_counts_each_outcome(db: Path) -> None:
    report = shadow_report(db, "search")
    assert report.compared == 12
    assert (report.matches, report.diffs, report.timeouts, report.errors) == (7, 3, 1, 1)
    assert report.parity_rate == pytest.approx(7 / 10)
    assert report.dropped == 5
    assert report.noise == (("took_ms", 7), ("results[].score", 1))


def test_report_window_keeps_recent_comparisons_only(db: Path) -> None:
    report = shadow_report(db, "search", window_seconds=3600)
    assert (report.compared, report.diffs, report.dropped) == (11, 2, 3)
    assert report.parity_rate == pytest.approx(7 / 9)


def test_report_shows_recent_diffs_newest_first(db: Path) -> None:
    examples = shadow_report(db, "search").examples
    assert len(examples) == 3
    assert examples[0].diffs == (PathDiff("k", 5, MISSING),)
    assert examples[1].overlap == 0.4 and examples[1].legacy_status == 200
    assert examples[1].diffs == (PathDiff("results[].id", [1, 2, 3], [1, 7, 8]),)


def test_report_of_a_route_never_compared_is_empty(db: Path) -> None:
    report = shadow_report(db, "stripe")
    assert report.compared == 0 and report.parity_rate is None and report.examples == ()


def test_report_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(ShadowError, match="no shadow database"):
        shadow_report(tmp_path / "none.sqlite3", "search")


def test_report_refuses_a_file_that_is_not_a_shadow_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    path.write_text("not sqlite at all, " * 100)
    with pytest.raises(ShadowError, match="not a readable shadow database"):
        shadow_report(path, "search")


@pytest.mark.parametrize(
    ("raw", "seconds"), [("300", 300), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)]
)
def test_windows_read_like_people_write_them(raw: str, seconds: float) -> None:
    assert parse_window(raw) == seconds


def test_strangler_has_the_shadow_command() -> None:
    assert SHADOW_COMMAND in all_commands()


def _strangler(monkeypatch: pytest.MonkeyPatch, table: Path, tmp_path: Path, *args: str) -> int:
    monkeypatch.setenv("COLUMNS", "160")  # wide enough that no table cell is folded
    return cli.main(["--routes", str(table), "--prefix", str(tmp_path / "nginx"), *args])


def test_strangler_shadow_prints_the_report(
    db: Path,
    table_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _strangler(monkeypatch, table_path, tmp_path, "shadow", "search", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "shadow: search (all time)" in out
    assert "70.0%" in out
    assert "took_ms" in out and "results[].score" in out
    assert "results[].id: [1, 2, 3] -> [1, 7, 8]" in out
    assert "k: 5 -> (missing)" in out
    assert "GET /[bold]x" in out  # request text is shown as is, never read as markup
    assert "trace 4bf92f3577b34da6a3ce929d0e0e4736" in out


def test_strangler_shadow_window_option(
    db: Path,
    table_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("shadow", "search", "--db", str(db), "--window", "1h")
    assert _strangler(monkeypatch, table_path, tmp_path, *args) == 0
    out = capsys.readouterr().out
    assert "last 3600 s" in out and "77.8%" in out


@pytest.mark.parametrize(
    ("route", "db_name", "message"),
    [
        ("nope", "shadow.sqlite3", "no route named 'nope'"),
        ("search", "absent.sqlite3", "no shadow database at"),
    ],
)
def test_strangler_shadow_refuses_in_one_line(
    db: Path,
    table_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    route: str,
    db_name: str,
    message: str,
) -> None:
    args = ("shadow", route, "--db", str(db.parent / db_name))
    assert _strangler(monkeypatch, table_path, tmp_path, *args) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
