"""Route modes through the real nginx in front of the real core and rag."""

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_gateway.shadow import shadow_report

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("restore_routes")]

SEARCH: dict[str, str | int] = {"q": "invoice", "k": 1}


def _side(gateway: httpx.Client, **headers: str) -> str:
    response = gateway.get("/api/search", params=SEARCH, headers=headers)
    assert response.status_code == 200, response.text
    # X-Service is set by the process that answered; X-Served-By by the gateway's decision.
    assert {"core": "legacy", "rag": "new"}[response.headers["x-service"]] == response.headers[
        "x-served-by"
    ]
    return response.headers["x-service"]


def test_legacy_route_is_served_by_core(gateway: httpx.Client, set_route: Callable) -> None:
    set_route("search", "legacy")
    assert {_side(gateway, **{"X-User-Id": f"u{i}"}) for i in range(20)} == {"core"}


def test_canary_100_is_served_by_rag(gateway: httpx.Client, set_route: Callable) -> None:
    set_route("search", "canary", 100)
    assert {_side(gateway, **{"X-User-Id": f"u{i}"}) for i in range(20)} == {"rag"}


def test_canary_30_splits_users_and_keeps_each_on_one_side(
    gateway: httpx.Client, set_route: Callable
) -> None:
    set_route("search", "canary", 30)
    first = {f"user-{i}": _side(gateway, **{"X-User-Id": f"user-{i}"}) for i in range(1000)}
    share = Counter(first.values())["rag"] / len(first)
    assert 0.25 <= share <= 0.35, f"observed share on rag: {share:.1%}"
    for key in list(first)[::4]:
        assert _side(gateway, **{"X-User-Id": key}) == first[key], key


def test_sticky_cookie_keys_a_user_too(gateway: httpx.Client, set_route: Callable) -> None:
    set_route("search", "canary", 50)
    for i in range(30):
        gateway.cookies.clear()
        sides = {_side(gateway, Cookie=f"sf_uid=cookie-user-{i}") for _ in range(3)}
        assert len(sides) == 1


def test_override_header_forces_either_side(gateway: httpx.Client, set_route: Callable) -> None:
    set_route("search", "canary", 50)
    for i in range(10):
        key = {"X-User-Id": f"tester-{i}"}
        assert _side(gateway, **key, **{"X-Migration-Target": "new"}) == "rag"
        assert _side(gateway, **key, **{"X-Migration-Target": "legacy"}) == "core"


def test_unlisted_paths_go_to_the_monolith(gateway: httpx.Client) -> None:
    response = gateway.get("/api/customers/1")
    assert response.status_code == 200
    assert response.headers["x-service"] == "core"
    assert response.headers["x-served-by"] == "legacy"


def test_migrated_and_retired_routes_are_served_by_rag(
    gateway: httpx.Client, set_route: Callable
) -> None:
    for mode in ("migrated", "retired"):
        set_route("search", mode)
        assert {_side(gateway, **{"X-User-Id": f"u{i}"}) for i in range(10)} == {"rag"}, mode


def test_shadow_serves_core_while_the_comparator_compares_with_rag(
    stack: Stack, gateway: httpx.Client, set_route: Callable, poll: Callable[..., Any]
) -> None:
    set_route("search", "shadow", 100)
    queries = ["refund", "invoice", "password reset"]
    for query in queries:
        response = gateway.get("/api/search", params={"q": query, "k": 3})
        assert response.status_code == 200
        assert (response.headers["x-service"], response.headers["x-served-by"]) == (
            "core",
            "legacy",
        )
    database = stack.config.data_dir / "shadow.sqlite3"
    report = poll(
        lambda: (found := shadow_report(database, "search")).compared >= len(queries) and found,
        seconds=20,
    )
    assert report.matches + report.diffs >= 1, report
