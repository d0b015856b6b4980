"""The migration console in a browser, through the gateway, on the real stack.

A staff user signs in to the Django admin, shifts a route from the console and the live gateway
serves the new split; the same action without a staff session, or without the CSRF token, is
refused and the route table is unchanged. A route's page shows a shadow diff this test caused,
with a trace link that opens a waterfall with spans.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from devstack import Stack
from strangler_gateway import load_route_table

if TYPE_CHECKING:
    from tests.browser.conftest import Browser

pytestmark = pytest.mark.stack


@pytest.fixture
def restore_search(stack: Stack, set_route: Callable[..., None]) -> Iterator[None]:
    """Put the search route back to legacy after the test, whatever it did."""
    yield
    set_route("search", "legacy")


def _url(stack: Stack, path: str) -> str:
    return f"http://127.0.0.1:{stack.config.ports.gateway}{path}"


def _sign_in(browser: Browser, stack: Stack) -> None:
    """Sign in to the Django admin through the gateway as the seeded staff user."""
    browser.open(_url(stack, "/admin/login/?next=/admin/"))
    password = json.dumps(stack.secrets.admin_password)
    browser.evaluate(
        "document.querySelector('#id_username').value = 'admin';"
        f"document.querySelector('#id_password').value = {password};"
        "document.querySelector('form#login-form').submit(); true"
    )
    browser.wait_for("location.pathname === '/admin/' && document.readyState === 'complete'")


def _post_action(browser: Browser, route: str, body: str) -> dict[str, Any]:
    """POST an action from the page the browser shows; return the status and the page's text."""
    return dict(
        browser.evaluate(
            f"fetch('/console/routes/{route}/actions/shift', {{method: 'POST', body: "
            f"{json.dumps(body)}, headers: {{'Content-Type': "
            "'application/x-www-form-urlencoded'}}).then(async r => ({status: r.status, "
            "text: await r.text()}))"
        )
    )


def test_the_overview_lists_every_route_with_mode_and_split(
    stack: Stack, browser: Browser, screenshots: Path
) -> None:
    browser.requests.clear()
    browser.open(_url(stack, "/console/"))
    # The live part is replaced by the event stream: wait for one update to have arrived.
    browser.wait_for("document.querySelector('#live').dataset.updated !== undefined")
    shown = browser.evaluate(
        "[...document.querySelectorAll('tr.route-row.side-legacy')].map(row =>"
        " [row.dataset.route, row.querySelector('.mode').dataset.mode,"
        "  row.querySelector('.split').dataset.newPercent])"
    )
    browser.screenshot(screenshots / "console-overview.png")
    table = load_route_table(stack.config.routes)
    assert shown == [[r.name, str(r.mode), str(r.new_percent)] for r in table.routes]
    assert "strangler.rag.v1.RagService" in browser.text("#grpc")
    assert browser.outside_requests() == []


def test_a_staff_user_shifts_a_route_and_the_gateway_serves_it(
    stack: Stack, browser: Browser, gateway: httpx.Client, restore_search: None
) -> None:
    _sign_in(browser, stack)
    browser.open(_url(stack, "/console/routes/search"))
    browser.evaluate("document.querySelector('#shift-percent').value = '40'; true")
    browser.click("#shift")
    browser.wait_for("document.querySelector('#confirm') !== null")
    assert "from legacy to canary 40%" in browser.text("#confirm")
    browser.click("#confirm-button")
    browser.wait_for("document.querySelector('#result') !== null")
    config_id = browser.text("#config-id")
    route = load_route_table(stack.config.routes).route("search")
    assert (route.mode, route.percent) == ("canary", 40)
    served = [
        gateway.get("/api/search", params={"q": "invoice"}, headers={"X-User-Id": f"u{i}"})
        for i in range(60)
    ]
    assert {response.headers["x-gateway-config"] for response in served} == {config_id}
    on_new = sum(response.headers["x-served-by"] == "new" for response in served)
    assert 10 <= on_new <= 40, on_new  # 40 % of 60 sticky users, by hash
    browser.open(_url(stack, "/console/"))
    row = "tr.route-row.side-legacy[data-route='search']"
    assert browser.evaluate(f'document.querySelector("{row} .mode").dataset.mode') == "canary"
    assert "40 % to new" in browser.text(f"{row} .split")


def test_an_action_without_staff_or_csrf_is_refused_and_changes_nothing(
    stack: Stack, browser: Browser, restore_search: None
) -> None:
    before = stack.config.routes.read_text()
    browser.clear_cookies()
    browser.open(_url(stack, "/console/routes/search"))
    anonymous = _post_action(browser, "search", "percent=30")
    _sign_in(browser, stack)
    browser.open(_url(stack, "/console/routes/search"))
    no_token = _post_action(browser, "search", "percent=30")
    bad_token = _post_action(browser, "search", "percent=30&csrf_token=" + "0" * 64)
    assert anonymous["status"] == 403 and "not signed in" in anonymous["text"]
    assert no_token["status"] == 403 and "CSRF" in no_token["text"]
    assert bad_token["status"] == 403 and "CSRF" in bad_token["text"]
    assert stack.config.routes.read_text() == before


def test_a_routes_page_shows_a_shadow_diff_with_a_trace_that_opens(
    stack: Stack,
    browser: Browser,
    gateway: httpx.Client,
    set_route: Callable[..., None],
    poll: Callable[..., Any],
    screenshots: Path,
    restore_search: None,
) -> None:
    rag = f"http://127.0.0.1:{stack.config.ports.rag_http}"
    token = {"Authorization": f"Bearer {stack.secrets.service_token}"}
    set_route("search", "shadow", 100)
    # rag failing every request: its answers now differ from core's, a diff by construction.
    httpx.put(f"{rag}/internal/faults", json={"error_rate": 1.0}, headers=token).raise_for_status()
    try:
        for query in ("refund", "invoice", "password"):
            assert gateway.get("/api/search", params={"q": query}).status_code == 200
        poll(lambda: _diffs_shown(browser, stack), seconds=30, every=0.5)
    finally:
        httpx.put(f"{rag}/internal/faults", json={}, headers=token).raise_for_status()
    browser.screenshot(screenshots / "console-route.png")
    assert browser.text("#diff-1 td.legacy") and browser.text("#diff-1 td.new")
    link = browser.evaluate("document.querySelector('#diff-1 a.trace-link').href")
    # The waterfall is drawn on the server: reload until the spans have been exported.
    spans = poll(lambda: _waterfall_rows(browser, link) >= 2, seconds=30, every=0.5)
    assert spans
    assert browser.evaluate("document.querySelector('details.row[data-service=\"core\"]') !== null")


def _waterfall_rows(browser: Browser, url: str) -> int:
    browser.open(url)
    return int(browser.evaluate("document.querySelectorAll('details.row').length"))


def _diffs_shown(browser: Browser, stack: Stack) -> bool:
    browser.open(_url(stack, "/console/routes/search"))
    return bool(browser.evaluate("document.querySelector('#diff-1') !== null"))


def test_the_trace_viewer_renders_offline(
    stack: Stack, browser: Browser, gateway: httpx.Client, screenshots: Path
) -> None:
    gateway.get("/api/search", params={"q": "invoice"})
    browser.requests.clear()
    browser.open(_url(stack, "/traces/"))
    browser.wait_for("document.querySelectorAll('a[href^=\"trace/\"]').length > 0", 30)
    browser.screenshot(screenshots / "traces.png")
    assert browser.outside_requests() == []
