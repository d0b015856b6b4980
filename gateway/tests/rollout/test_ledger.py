"""The ledger is append-only JSON lines; a line torn by a crash is skipped, never misread."""

from pathlib import Path

import pytest
from strangler_gateway.traffic.rollout.ledger import append_entry, read_ledger


def test_entries_are_read_back_in_order_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rollouts" / "search.jsonl"
    append_entry(path, {"event": "started", "route": "search"})
    append_entry(path, {"event": "judged", "route": "search", "outcome": "passed"})
    with path.open("a") as out:
        out.write('{"event": "judg')
    assert [entry["event"] for entry in read_ledger(path)] == ["started", "judged"]


def test_an_unknown_event_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown ledger event"):
        append_entry(tmp_path / "x.jsonl", {"event": "promoted"})
    assert read_ledger(tmp_path / "x.jsonl") == []
