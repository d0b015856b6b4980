"""Each judgement reads only the lines written since the last one, across a log rotation."""

import json
from pathlib import Path

from strangler_gateway.traffic.rollout.logtail import cursor_at_end, read_since


def _write(log: Path, *numbers: int, partial: str = "") -> None:
    with log.open("a") as out:
        for number in numbers:
            out.write(json.dumps({"n": number}) + "\n")
        out.write(partial)


def test_only_new_complete_lines_are_read(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    _write(log, 1, 2)
    cursor = cursor_at_end(log)
    _write(log, 3, partial='{"n": 4')
    entries, cursor = read_since(log, cursor)
    assert [e["n"] for e in entries] == [3]
    with log.open("a") as out:
        out.write("}\n")
    entries, cursor = read_since(log, cursor)
    assert [e["n"] for e in entries] == [4]
    assert read_since(log, cursor)[0] == []


def test_a_rotation_loses_no_line_and_counts_none_twice(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    _write(log, 1)
    cursor = cursor_at_end(log)
    _write(log, 2, 3)
    log.rename(tmp_path / "access.log.1")  # what logrotate does before `nginx -s reopen`
    _write(tmp_path / "access.log.1", 4)  # nginx still writes to the old file until it reopens
    _write(log, 5, 6)  # reopened: a new file
    entries, cursor = read_since(log, cursor)
    assert [e["n"] for e in entries] == [2, 3, 4, 5, 6]
    _write(log, 7)
    assert [e["n"] for e in read_since(log, cursor)[0]] == [7]


def test_a_log_that_does_not_exist_yet_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    cursor = cursor_at_end(log)
    _write(log, 1)
    assert [e["n"] for e in read_since(log, cursor)[0]] == [1]
