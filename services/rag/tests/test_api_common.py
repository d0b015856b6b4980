"""What every response shares: the X-Service header, the error envelope, health, docs."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from rag.deps import get_index
from rag.main import create_app
from strangler_shared import InvalidSecretError

pytestmark = pytest.mark.anyio


async def test_health_reports_the_synced_article_count(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "articles": 4}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz"), ("GET", "/api/search?q=x"), ("GET", "/nowhere"), ("GET", "/docs")],
)
async def test_every_response_says_which_service_answered(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.headers["X-Service"] == "rag"


async def test_unknown_routes_and_methods_use_the_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = await client.delete("/api/search")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")


@pytest.fixture
async def broken_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    def explode() -> None:
        raise RuntimeError("secret internals")

    app.dependency_overrides[get_index] = explode
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as http:
        yield http


async def test_an_unexpected_error_is_a_500_without_details(
    broken_client: httpx.AsyncClient,
) -> None:
    response = await broken_client.get("/api/search", params={"q": "x"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["X-Service"] == "rag"


async def test_openapi_documents_the_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert {"/api/search", "/api/chat", "/healthz"} <= set(schema["paths"])
    search = schema["paths"]["/api/search"]["get"]
    assert search["description"].startswith("Rank the knowledge base's articles")
    assert (await client.get("/docs")).status_code == 200


def test_the_app_refuses_to_start_without_a_service_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STRANGLER_SERVICE_TOKEN", raising=False)
    monkeypatch.delenv("STRANGLER_SERVICE_TOKEN_FILE", raising=False)
    with pytest.raises(InvalidSecretError):
        create_app()
