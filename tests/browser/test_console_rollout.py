"""A rollout started from the console, in a browser, on the real stack, and its ledger shown.

A staff user starts a short rollout of /api/search from the route's page (the console runs the
controller detached, as the command would); rag fails a fifth of its answers, so the first step
is judged failed and the route rolled back. The route's page then shows that rollout's ledger, and
its trace link opens a waterfall with spans in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from devstack import Stack
from strangler_gateway import load_route_table
from strangler_gateway.tools.loadgen import Load
from strangler_gateway.traffic.rollout import read_ledger

if TYPE_CHECKING:
    from tests.browser.conftest import Browser

pytestmark = pytest.mark.stack

# One canary step judged every second on a small sample: the test runs in well under a minute.
SHORT_PLAN = """
[routes.rollout]
steps = [50]
shadow = false
interval_seconds = 1
min_requests = 30
min_users = 10
deadline_intervals = 8
"""
ENDED = ("rolled_back", "completed", "stalled", "aborted")


@pytest.fixture
def short_plan(stack: Stack, set_route: Callable[..., None]) -> Iterator[None]:
    """Give the search route a short rollout plan; put the table back as found afterwards."""
    set_route("search", "legacy")
    table = stack.config.routes
    found = table.read_text()
    marker = 'name = "search"\n'
    head, tail = found.split(marker, 1)
    block, rest = tail.split("\n[[routes]]", 1)
    table.write_text(f"{head}{marker}{block.rstrip()}\n{SHORT_PLAN}\n[[routes]]{rest}")
    yield
    table.write_text(found)
    set_route("search", "legacy")
    assert table.read_text() == found


@pytest.fixture
def failing_rag(stack: Stack) -> Iterator[None]:
    """Make rag fail 20 % of its answers for the test; clear the fault afterwards."""
    url = f"http://127.0.0.1:{stack.config.ports.rag_http}/internal/faults"
    token = {"Authorization": f"Bearer {stack.secrets.service_token}"}
    httpx.put(url, json={"error_rate": 0.2}, headers=token, timeout=10).raise_for_status()
    yield
    httpx.put(url, json={}, headers=token, timeout=10).raise_for_status()


def _url(stack: Stack, path: str) -> str:
    return f"http://127.0.0.1:{stack.config.ports.gateway}{path}"


def _sign_in(browser: Browser, stack: Stack) -> None:
    # A session left by an earlier test would send the login page straight on to the admin.
    browser.clear_cookies()
    browser.open(_url(stack, "/admin/login/?next=/admin/"))
    password = json.dumps(stack.secrets.admin_password)
    browser.evaluate(
        "document.querySelector('#id_username').value = 'admin';"
        f"document.querySelector('#id_password').value = {password};"
        "document.querySelector('form#login-form').submit(); true"
    )
    browser.wait_for("location.pathname === '/admin/' && document.readyState === 'complete'")


def _ledger(stack: Stack, rollout_id: str) -> list[dict[str, Any]]:
    entries = read_ledger(stack.config.nginx_prefix / "rollouts" / "search.jsonl")
    return [entry for entry in entries if entry["rollout_id"] == rollout_id]


def _sticky_user(first: int, number: int) -> dict[str, str]:
    return {"X-User-Id": f"user-{(first + number) % 300}"}


def _drive(stack: Stack, rollout_id: str, limit: int) -> str:
    """Search as many sticky users until the rollout ends; return its last event.

    Through the project's load client, which sends a request again when a reload closed its
    kept-alive connection (each step of the rollout reloads the gateway), as browsers do.
    """
    sent = 0
    while sent < limit:
        Load(
            _url(stack, ""),
            "/api/search?q=invoice&k=2",
            total=20,
            threads=1,
            headers=partial(_sticky_user, sent),
        ).start().join()
        sent += 20
        events = [entry["event"] for entry in _ledger(stack, rollout_id)]
        if events and events[-1] in ENDED:
            return events[-1]
    raise AssertionError(f"rollout {rollout_id} did not end after {sent} requests")


def _waterfall_rows(browser: Browser, url: str) -> int:
    browser.open(url)
    return int(browser.evaluate("document.querySelectorAll('details.row').length"))


@pytest.mark.usefixtures("short_plan", "failing_rag")
def test_a_rollout_started_from_the_console_shows_its_ledger_and_traces(
    stack: Stack,
    browser: Browser,
    poll: Callable[..., Any],
    screenshots: Path,
) -> None:
    _sign_in(browser, stack)
    browser.open(_url(stack, "/console/routes/search"))
    browser.click("#start-rollout")
    browser.wait_for("document.querySelector('#confirm') !== null")
    assert "start a rollout of route search, now legacy" in browser.text("#confirm")
    assert "canary 50% -> migrated" in browser.text("#confirm")
    browser.click("#confirm-button")
    browser.wait_for("document.querySelector('#rollout-id') !== null")
    rollout_id = browser.text("#rollout-id")
    assert _drive(stack, rollout_id, limit=6000) == "rolled_back"
    assert load_route_table(stack.config.routes).route("search").mode == "legacy"
    browser.open(_url(stack, "/console/routes/search"))
    section = f'[id="rollout-{rollout_id}"]'

    assert "rolled_back" in browser.text(f"{section} li.event-rolled_back")
    assert "errors gate failed" in browser.text(f"{section} li.event-rolled_back .reason")
    assert "fail" in browser.text(f"{section} li.event-rolled_back tr.gate.verdict-fail")
    browser.screenshot(screenshots / "console-rollout.png")
    link = browser.evaluate(f"document.querySelector('{section} a.trace-link').href")
    assert link.startswith(_url(stack, "/traces/trace/"))
    # The waterfall is drawn on the server: reload until the spans have been exported.
    assert poll(lambda: _waterfall_rows(browser, link) >= 2, seconds=30, every=0.5)
