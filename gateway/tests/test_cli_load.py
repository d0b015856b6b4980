"""``strangler load`` sends a bounded, paced mix through the gateway and summarises each side."""

import re
from pathlib import Path

import pytest
from strangler_gateway.cli import main

from .conftest import MakeGateway


def _run(table: Path, prefix: Path, *args: str) -> int:
    return main(["--routes", str(table), "--prefix", str(prefix), *args])


def test_load_reaches_both_sides_of_a_canary_and_counts_each(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 50')
    assert _run(gateway.table_path, gateway.prefix, "load", "--duration", "2", "--rate", "40",
                "--users", "30") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "80 requests; failures: none" in out
    sides = dict(re.findall(r"│ (legacy|new)\s+│\s+(\d+) │", out))
    assert int(sides["legacy"]) > 0 and int(sides["new"]) > 0
    assert int(sides["legacy"]) + int(sides["new"]) == 80


def test_load_goes_to_the_loopback_only(
    tmp_path: Path, make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway()
    assert _run(gateway.table_path, gateway.prefix, "load", "--url", "http://192.0.2.1:80",
                "--duration", "1") == 1  # fmt: skip
    assert "127.0.0.1 only" in capsys.readouterr().err
