"""Routes that need a user trust only the identity core signed and the gateway passed on."""

import httpx
import pytest
from fastapi import FastAPI
from rag.main import create_app
from strangler_shared import InvalidSecretError
from strangler_shared.identity import sign_identity

pytestmark = pytest.mark.anyio

# The same key the autouse ``identity_secret`` fixture gives every app of these tests.
KEY = b"rag-tests-identity-key-0123456789abcdefghij"


def _token(secret: bytes = KEY, **overrides: object) -> str:
    fields: dict[str, object] = {"staff": False, "ttl_seconds": 60, **overrides}
    return sign_identity("7", secret=secret, **fields)  # type: ignore[arg-type]


def test_the_tests_sign_with_the_apps_key(identity_secret: bytes) -> None:
    assert identity_secret == KEY


async def test_a_signed_identity_is_the_user(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me", headers={"X-Identity": _token(staff=True)})

    assert response.status_code == 200
    assert response.json() == {"user_id": "7", "staff": True}


async def test_no_identity_is_401_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "token, reason",
    [
        (_token(secret=b"x" * 40), "bad_signature"),
        (_token(ttl_seconds=-1), "expired"),
        ("7:staff", "malformed"),
    ],
    ids=["forged", "expired", "made-up"],
)
async def test_an_untrusted_identity_is_401(
    client: httpx.AsyncClient, token: str, reason: str
) -> None:
    response = await client.get("/api/me", headers={"X-Identity": token})

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_identity",
        "message": f"The identity could not be trusted: {reason}.",
    }


async def test_the_openapi_documents_the_401(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/api/me"]["get"]

    assert "401" in operation["responses"]


def test_the_app_refuses_to_start_without_an_identity_key(
    monkeypatch: pytest.MonkeyPatch, service_token: str
) -> None:
    monkeypatch.delenv("STRANGLER_IDENTITY_SECRET", raising=False)

    with pytest.raises(InvalidSecretError, match="STRANGLER_IDENTITY_SECRET"):
        create_app()
