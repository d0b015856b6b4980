"""Identity comes only through the facade: core says who is signed in, rag trusts only that.

Users sign in to the monolith (Django's admin login here); for a route that needs a user, the
gateway asks core (``auth_request``) and passes core's signed token upstream in ``X-Identity``,
replacing whatever the client sent. rag has no login: a call that goes around the gateway, or
carries a made-up identity, gets 401.
"""

import re
from collections.abc import Iterator

import httpx
import pytest
from devstack import Stack
from strangler_shared.identity import sign_identity

PROTECTED = "/api/me"


def _sign_in(url: str, password: str) -> str:
    # A browser of its own: the shared client must stay anonymous for the other tests.
    with httpx.Client(base_url=url, timeout=10) as browser:
        form = browser.get("/admin/login/", params={"next": "/admin/"})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        response = browser.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token[1], "username": "admin", "password": password},
        )
    assert response.status_code == 302, response.text[:500]
    return f"sessionid={response.cookies['sessionid']}"


@pytest.fixture(scope="module")
def signed_in(stack: Stack) -> Iterator[dict[str, str]]:
    """The admin's Django session cookie (a Cookie header), from core's login, via the gateway."""
    url = f"http://127.0.0.1:{stack.config.ports.gateway}"
    yield {"Cookie": _sign_in(url, stack.secrets.admin_password)}


def _rag(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.config.ports.rag_http}"


def test_an_anonymous_request_to_a_protected_route_is_401_json(gateway: httpx.Client) -> None:
    assert not gateway.cookies, "the shared client is anonymous"
    response = gateway.get(PROTECTED)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-served-by"] == "gateway"
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["request_id"] == response.headers["x-request-id"]


def test_a_signed_in_request_reaches_rag_with_the_identity(
    gateway: httpx.Client, signed_in: dict[str, str]
) -> None:
    response = gateway.get(PROTECTED, headers=signed_in)

    assert response.status_code == 200, response.text
    assert response.headers["x-service"] == "rag"
    body = response.json()
    assert body["staff"] is True
    assert body["user_id"].isdigit()


def test_an_identity_header_from_the_client_is_ignored(
    stack: Stack, gateway: httpx.Client, signed_in: dict[str, str]
) -> None:
    # Even a token signed with the real key (as if stolen) is replaced by the gateway's own.
    forged = sign_identity("999999", staff=True, secret=stack.secrets.identity_secret.encode())
    headers = {"X-Identity": forged, "X-Auth-User": "999999", "X-Auth-Staff": "true"}

    anonymous = gateway.get(PROTECTED, headers=headers)
    signed = gateway.get(PROTECTED, headers=headers | signed_in)

    assert anonymous.status_code == 401
    assert signed.status_code == 200
    assert signed.json()["user_id"] != "999999"


def test_a_session_that_is_not_signed_in_is_401(gateway: httpx.Client) -> None:
    response = gateway.get(PROTECTED, headers={"Cookie": "sessionid=not-a-session"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_direct_call_to_rag_without_the_gateways_proof_is_401(stack: Stack) -> None:
    bare = httpx.get(_rag(stack) + PROTECTED, timeout=10)
    forged = httpx.get(
        _rag(stack) + PROTECTED,
        headers={"X-Identity": sign_identity("1", staff=True, secret=b"k" * 32)},
        timeout=10,
    )

    assert (bare.status_code, bare.json()["error"]["code"]) == (401, "unauthenticated")
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "invalid_identity")


def test_the_session_check_itself_is_not_reachable_through_the_gateway(
    gateway: httpx.Client, signed_in: dict[str, str]
) -> None:
    response = gateway.get("/internal/auth/session", headers=signed_in)

    assert response.status_code == 404
    assert "x-identity" not in response.headers


def test_a_signed_in_user_keeps_one_bucket_whatever_key_the_client_sends(
    gateway: httpx.Client, signed_in: dict[str, str]
) -> None:
    # The canary's sticky key is the authenticated user: a new browser cookie or user header
    # does not move a signed-in user to another bucket (search asks core who the user is).
    def bucket(key: str, session: str | None) -> str:
        cookie = f"sf_uid={key}" + (f"; {session}" if session else "")
        response = gateway.get("/api/search", params={"q": "invoice"},
                               headers={"Cookie": cookie, "X-User-Id": key})  # fmt: skip
        assert response.status_code == 200, response.text
        return response.headers["x-migration-bucket"]

    keys = [f"browser-{n}" for n in range(8)]
    assert len({bucket(key, signed_in["Cookie"]) for key in keys}) == 1
    assert len({bucket(key, None) for key in keys}) > 1
