"""The session check the gateway makes before a route that needs a user."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from strangler_shared.identity import verify_identity

from core.config.settings.test import IDENTITY_SECRET

pytestmark = pytest.mark.django_db
URL = "/internal/auth/session"


def test_nobody_signed_in_is_401_in_the_envelope(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "X-Identity" not in response


@pytest.mark.parametrize("staff", [False, True])
def test_a_signed_in_user_gets_a_signed_identity(client: Client, staff: bool) -> None:
    user = get_user_model().objects.create_user("ada", password="pw-for-tests", is_staff=staff)
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == 204
    identity = verify_identity(response["X-Identity"], secret=IDENTITY_SECRET)
    assert (identity.user_id, identity.staff) == (str(user.pk), staff)
    assert identity.expires_at <= time.time() + 60
    assert response["X-Auth-User"] == str(user.pk)
    assert response["X-Auth-Staff"] == ("true" if staff else "false")


def test_an_inactive_user_is_nobody(client: Client) -> None:
    user = get_user_model().objects.create_user("bob", password="pw-for-tests", is_active=False)
    client.force_login(user)

    assert client.get(URL).status_code == 401


def test_only_get_is_allowed(client: Client) -> None:
    response = client.post(URL)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_without_a_key_core_says_so_instead_of_signing(client: Client, settings) -> None:
    settings.IDENTITY_SECRET = b""
    user = get_user_model().objects.create_user("cy", password="pw-for-tests")
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "identity_unconfigured"
