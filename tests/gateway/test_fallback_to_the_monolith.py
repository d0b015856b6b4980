"""With rag down, a migrated route's reads are served by the monolith; POSTs are not replayed."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from devstack import Stack

from .conftest import log_line

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("restore_routes")]


@pytest.fixture
def rag_down(stack: Stack) -> Iterator[None]:
    """Stop rag for one test, then bring it back so the session's stack is whole again."""
    stack.stop_process("rag")
    try:
        yield
    finally:
        stack.start_process("rag")


def test_reads_fall_back_to_core_and_posts_get_a_clear_error(
    stack: Stack,
    gateway: httpx.Client,
    set_route: Callable[..., None],
    access_log: Path,
    rag_down: None,
) -> None:
    set_route("search", "migrated")
    set_route("chat", "migrated")

    search = gateway.get("/api/search", params={"q": "refund", "k": 3})
    assert search.status_code == 200, search.text
    assert search.json()["results"], "the monolith answered the search"
    assert search.headers["x-service"] == "core"
    assert (search.headers["x-served-by"], search.headers["x-migration-fallback"]) == (
        "legacy",
        "true",
    )
    line = log_line(access_log, search.headers["x-request-id"])
    assert (line["route"], line["mode"], line["target"], line["fallback"]) == (
        "search",
        "migrated",
        "legacy",
        True,
    )
    rag = f"127.0.0.1:{stack.config.ports.rag_http}"
    core = f"127.0.0.1:{stack.config.ports.core_http}"
    assert line["upstream_addr"] == f"{rag} : {core}"

    chat = gateway.post("/api/chat", json={"question": "How do refunds work?", "k": 2})
    assert chat.status_code in (502, 503)
    assert chat.json()["error"]["code"] == "upstream_unavailable"
    assert chat.headers["x-migration-fallback"] == "false"
    line = log_line(access_log, chat.headers["x-request-id"])
    assert line["upstream_addr"] == rag, "the POST was sent to rag only, never replayed on core"
    assert (line["fallback"], line["method"]) == (False, "POST")


def test_rag_is_back_after_the_outage(
    gateway: httpx.Client, set_route: Callable[..., None]
) -> None:
    set_route("search", "migrated")
    response = gateway.get("/api/search", params={"q": "refund"})
    assert response.status_code == 200
    assert (response.headers["x-service"], response.headers["x-migration-fallback"]) == (
        "rag",
        "false",
    )
