"""Fault flags: switched at run time by an authenticated internal call, felt by public routes."""

import time

import httpx
import pytest

pytestmark = pytest.mark.anyio


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_faults_are_off_by_default(client: httpx.AsyncClient, service_token: str) -> None:
    response = await client.get("/internal/faults", headers=_auth(service_token))
    assert response.json() == {"error_rate": 0.0, "added_latency_seconds": 0.0}
    assert (await client.get("/api/search", params={"q": "card"})).status_code == 200


async def test_changing_faults_needs_the_service_token(client: httpx.AsyncClient) -> None:
    response = await client.put("/internal/faults", json={"error_rate": 1})
    assert response.status_code == 401
    wrong = await client.put("/internal/faults", json={"error_rate": 1}, headers=_auth("x" * 40))
    assert wrong.status_code == 401
    assert (await client.get("/api/search", params={"q": "card"})).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"added_latency_seconds": 61}, "added_latency_seconds"),
        ({"error_rate": 0.5, "explode": True}, "explode"),
    ],
)
async def test_bad_flags_are_refused(
    client: httpx.AsyncClient, service_token: str, body: dict[str, object], field: str
) -> None:
    response = await client.put("/internal/faults", json=body, headers=_auth(service_token))
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


async def test_an_error_rate_of_one_fails_every_public_request_until_cleared(
    client: httpx.AsyncClient, service_token: str
) -> None:
    put = await client.put("/internal/faults", json={"error_rate": 1}, headers=_auth(service_token))
    assert put.json() == {"error_rate": 1.0, "added_latency_seconds": 0.0}
    search = await client.get("/api/search", params={"q": "card"})
    chat = await client.post("/api/chat", json={"question": "card"})
    for response in (search, chat):
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "injected_fault"
        assert response.headers["X-Service"] == "rag"
    assert (await client.get("/healthz")).status_code == 200
    await client.put("/internal/faults", json={}, headers=_auth(service_token))
    assert (await client.get("/api/search", params={"q": "card"})).status_code == 200


async def test_added_latency_delays_public_requests(
    client: httpx.AsyncClient, service_token: str
) -> None:
    body = {"added_latency_seconds": 0.3}
    await client.put("/internal/faults", json=body, headers=_auth(service_token))
    started = time.monotonic()
    response = await client.get("/api/search", params={"q": "card"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
