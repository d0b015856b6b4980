"""The API docs pages a newcomer is sent to render with no network beyond 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from devstack import Stack

if TYPE_CHECKING:
    from tests.browser.conftest import Browser

pytestmark = pytest.mark.stack


def _operations(browser: Browser) -> list[str]:
    """Return the operations Swagger UI drew, as "METHOD /path"."""
    # The page's own scripts came from 127.0.0.1: Swagger UI is there before it draws anything.
    assert browser.wait_for("typeof window.SwaggerUIBundle === 'function'")
    browser.wait_for(
        "document.querySelectorAll('.opblock-summary').length > 0"
        " || document.querySelector('.errors-wrapper') !== null"
    )
    assert "error" not in browser.text(".errors-wrapper").lower(), browser.text(".errors-wrapper")
    return list(
        browser.evaluate(
            "[...document.querySelectorAll('.opblock-summary')].map(e =>"
            " e.querySelector('.opblock-summary-method').innerText + ' ' +"
            " e.querySelector('.opblock-summary-path').innerText.replace(/\\u200b/g, ''))"
        )
    )


def test_rags_docs_render_with_its_own_swagger_ui(
    stack: Stack, browser: Browser, screenshots: Path
) -> None:
    browser.requests.clear()
    browser.open(f"http://127.0.0.1:{stack.config.ports.rag_http}/docs")
    operations = _operations(browser)
    browser.screenshot(screenshots / "rag-docs.png")
    assert "GET /api/search" in operations
    assert "POST /api/chat" in operations
    assert browser.outside_requests() == []


def test_cores_api_docs_render_with_ninjas_own_swagger_ui(
    stack: Stack, browser: Browser, screenshots: Path
) -> None:
    browser.requests.clear()
    browser.open(f"http://127.0.0.1:{stack.config.ports.gateway}/api/docs")
    operations = _operations(browser)
    browser.screenshot(screenshots / "core-api-docs.png")
    assert "GET /api/search" in operations
    assert "POST /api/chat" in operations
    assert browser.outside_requests() == []
