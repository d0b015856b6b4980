"""rag's /docs page loads Swagger UI from rag itself, never from a CDN."""

import re

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_docs_page_names_only_local_assets(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    assert all(url.startswith("/static/swagger-ui/") for url in assets), assets


async def test_swagger_ui_assets_are_served(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/swagger-ui/swagger-ui-bundle.js")
    style = await client.get("/static/swagger-ui/swagger-ui.css")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    assert style.status_code == 200 and b".swagger-ui" in style.content
