"""``GET /internal/customers/{id}/suggestions``: core delegates, rag calls core back (gRPC)."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from rag.main import create_app
from rag.suggestions import PAST_DUE_QUERY, TRIALING_QUERY

pytestmark = pytest.mark.anyio

URL = "/internal/customers/{}/suggestions"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
    ],
)
async def test_without_the_service_token_it_is_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(URL.format(10), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_authentication_is_checked_before_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get(URL.format("abc"), params={"k": "0"})
    assert response.status_code == 401


async def test_a_past_due_customer_gets_payment_help(
    client: httpx.AsyncClient, service_token: str
) -> None:
    response = await client.get(URL.format(10), headers=_auth(service_token))
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == 10
    assert body["query"] == PAST_DUE_QUERY
    assert body["results"][0]["slug"] == "payment-failed"
    assert len(body["results"]) <= 3
    assert set(body["results"][0]) == {"id", "slug", "title", "snippet", "score"}


@pytest.mark.parametrize(
    ("customer_id", "query", "first_slug"),
    [
        (11, TRIALING_QUERY, "trial-upgrade"),
        (12, "team plan getting started", "team-getting-started"),
    ],
)
async def test_the_query_follows_plan_and_billing_state(
    client: httpx.AsyncClient, service_token: str, customer_id: int, query: str, first_slug: str
) -> None:
    response = await client.get(
        URL.format(customer_id), params={"k": 1}, headers=_auth(service_token)
    )
    body = response.json()
    assert body["query"] == query
    assert [result["slug"] for result in body["results"]] == [first_slug]


async def test_an_unknown_customer_is_404(client: httpx.AsyncClient, service_token: str) -> None:
    response = await client.get(URL.format(999), headers=_auth(service_token))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_an_invalid_k_is_422(client: httpx.AsyncClient, service_token: str) -> None:
    response = await client.get(URL.format(10), params={"k": 51}, headers=_auth(service_token))
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["k"]


async def test_a_core_slower_than_the_deadline_is_503(
    client: httpx.AsyncClient, core: Any, service_token: str
) -> None:
    core.servicer.slow_customer_ids.add(12)
    response = await client.get(URL.format(12), headers=_auth(service_token))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "core_unavailable"


async def test_a_core_gone_after_the_sync_is_503(
    client: httpx.AsyncClient, core: Any, service_token: str
) -> None:
    core.server.stop(grace=None)
    response = await client.get(URL.format(10), headers=_auth(service_token))
    health = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "core_unavailable"
    # The articles synced before stay searchable.
    assert health.status_code == 200


async def test_a_core_never_reached_is_not_ready(
    service_token: str, settings_for: Any, free_port_number: int
) -> None:
    app: FastAPI = create_app(settings_for(f"127.0.0.1:{free_port_number}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as http:
            response = await http.get(URL.format(10), headers=_auth(service_token))
            health = await http.get("/healthz")
    for refused in (response, health):
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "not_ready"
