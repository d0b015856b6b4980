"""The comparator reads the gateway's route table, follows its edits, takes --upstream overrides."""

import os
from pathlib import Path

import pytest
from strangler_gateway.errors import RouteTableError
from strangler_gateway.shadow import Compare, ShadowError, ShadowTarget, TargetTable
from strangler_gateway.shadow.config import parse_upstream_overrides

from .conftest import TABLE


def test_targets_come_from_the_route_table(table_path: Path) -> None:
    table = TargetTable.load(table_path)
    assert table.get("search") == ShadowTarget(
        "search", ("127.0.0.1:8000",), ("127.0.0.1:8001",), Compare.JSON, ()
    )
    assert table.get("nope") is None


def test_upstream_overrides_replace_servers(table_path: Path) -> None:
    overrides = parse_upstream_overrides(
        ["monolith=127.0.0.1:9000", "monolith=127.0.0.1:9001", "service=localhost:9100"]
    )
    target = TargetTable.load(table_path, overrides).get("search")
    assert target is not None
    assert target.legacy == ("127.0.0.1:9000", "127.0.0.1:9001")
    assert target.new == ("localhost:9100",)


@pytest.mark.parametrize("pair", ["monolith", "=127.0.0.1:1", "monolith=nowhere"])
def test_malformed_overrides_are_refused(pair: str) -> None:
    with pytest.raises(ShadowError, match="expected NAME=HOST:PORT"):
        parse_upstream_overrides([pair])


def test_overrides_of_unknown_upstreams_are_refused(table_path: Path) -> None:
    with pytest.raises(ShadowError, match="unknown upstream"):
        TargetTable.load(table_path, {"elsewhere": ("127.0.0.1:1",)})


def test_an_invalid_table_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(TABLE.replace('new = "service"', 'new = "missing"'))
    with pytest.raises(RouteTableError, match="unknown upstream 'missing'"):
        TargetTable.load(path)


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    # Make the change visible even on a file system with a coarse clock.
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_an_edited_table_is_followed_and_a_broken_edit_ignored(table_path: Path) -> None:
    table = TargetTable.load(table_path)
    _rewrite(table_path, TABLE.replace('name = "search"', 'name = "find"'))
    assert table.get("search") is None
    assert table.get("find") is not None
    _rewrite(table_path, TABLE + "\n[[routes]]\nname = 1\n")
    assert table.get("find") is not None  # the last good table stays in force


SHADOW_ROUTE = """
[upstreams.shadow]
servers = ["127.0.0.1:8090"]

[[routes]]
name = "chat"
path = "/api/chat"
legacy = "monolith"
new = "service"
mode = "shadow"
percent = 10
compare = "chat"
ignore = ["answer", "sources[].title"]
"""


def test_a_shadow_route_brings_its_rule_and_ignore_paths(table_path: Path) -> None:
    table_path.write_text(TABLE + SHADOW_ROUTE)
    target = TargetTable.load(table_path).get("chat")
    assert target is not None
    assert target.rule is Compare.CHAT
    assert target.ignore == ("answer", "sources[].title")
