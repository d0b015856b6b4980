"""How the routes get their long-lived objects: from the app, on the event loop."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.dependencies import utils as dependency_utils
from rag.main import create_app

pytestmark = pytest.mark.anyio


def test_a_production_app_overrides_no_dependency(
    core: Any, settings_for: Callable[..., Any]
) -> None:
    # FastAPI re-inspects an override's signature on every request it serves.
    app = create_app(settings_for(core.target))
    assert app.dependency_overrides == {}


async def test_no_dependency_of_search_or_chat_runs_in_the_thread_pool(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_off: list[str] = []
    original = dependency_utils.run_in_threadpool

    async def spy(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed_off.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(dependency_utils, "run_in_threadpool", spy)
    search = await client.get("/api/search", params={"q": "password"})
    chat = await client.post("/api/chat", json={"question": "How do I reset my password?"})
    assert (search.status_code, chat.status_code) == (200, 200)
    assert handed_off == []


async def test_the_routes_read_the_settings_the_app_was_created_with(
    core: Any, settings_for: Callable[..., Any]
) -> None:
    app = create_app(settings_for(core.target, search_default_k=1))
    async with app.router.lifespan_context(app):
        await app.state.sync.wait_ready()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as http:
            response = await http.get("/api/search", params={"q": "billing page"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
