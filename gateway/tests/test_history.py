"""Every mode change is recorded in the route change history, and a refused one is not."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from strangler_gateway.errors import GatewayError
from strangler_gateway.traffic.control import promote_route, rollback_route, set_route_mode
from strangler_gateway.traffic.history import history_path

ROOT = Path(__file__).resolve().parents[2]


def _history(prefix: Path) -> list[dict[str, Any]]:
    path = history_path(prefix)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_changes_are_recorded_with_who_and_the_config(tmp_path: Path) -> None:
    table, prefix = tmp_path / "routes.toml", tmp_path / "nginx"
    shutil.copy(ROOT / "gateway" / "routes.toml", table)
    shifted = set_route_mode(table, prefix, "search", "canary", 5)
    promote_route(table, prefix, "search", actor="rollout")
    rollback_route(table, prefix, "search", actor="console:3")
    changes = _history(prefix)
    assert [
        (c["actor"], c["from"]["mode"], c["to"]["mode"], c["to"]["percent"]) for c in changes
    ] == [
        ("cli", "legacy", "canary", 5),
        ("rollout", "canary", "canary", 25),
        ("console:3", "canary", "legacy", None),
    ]
    assert changes[0]["config_id"] == shifted.config_id and changes[0]["route"] == "search"
    assert str(changes[0]["time"]).endswith("Z")


def test_a_refused_change_is_not_recorded(tmp_path: Path) -> None:
    table, prefix = tmp_path / "routes.toml", tmp_path / "nginx"
    shutil.copy(ROOT / "gateway" / "routes.toml", table)
    with pytest.raises(GatewayError):
        set_route_mode(table, prefix, "search", "canary", 250)
    assert _history(prefix) == []
