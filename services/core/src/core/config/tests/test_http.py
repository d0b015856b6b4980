"""Process-level HTTP behaviour: health, the X-Service header, errors always in the envelope."""

import json

import pytest
import stripe
from django.conf import settings
from django.test import Client

import core.billing.views
import core.knowledge.api

pytestmark = pytest.mark.django_db

ENVELOPE_500 = {"error": {"code": "internal_error", "message": "internal server error"}}


def test_healthz_says_ok_and_names_the_service(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Service"] == "core"


@pytest.mark.parametrize("path", ["/api/nowhere", "/nowhere", "/webhooks/other"])
def test_unknown_paths_answer_404_in_the_envelope(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response["X-Service"] == "core"


def test_a_wrong_method_answers_405_in_the_envelope(client: Client) -> None:
    response = client.delete("/api/search?q=x")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_the_admin_keeps_its_own_pages_and_is_marked_too(client: Client) -> None:
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Service"] == "core"


def test_an_api_crash_is_500_internal_error_without_internals(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(query: str, k: int) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(core.knowledge.api, "search_articles", explode)

    response = client.get("/api/search?q=card")

    assert response.status_code == 500
    assert response.json() == ENVELOPE_500
    assert b"secret internals" not in response.content


def test_a_view_crash_outside_the_api_is_500_in_the_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(core.billing.views, "parse_event", explode)
    client = Client(raise_request_exception=False)
    response = client.post(
        "/webhooks/stripe",
        data="{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signature("{}"),
    )

    assert response.status_code == 500
    assert json.loads(response.content) == ENVELOPE_500
    assert response["X-Service"] == "core"


def _signature(payload: str) -> str:
    return str(
        stripe.WebhookSignature.generate_signature_header(payload, settings.STRIPE_WEBHOOK_SECRET)
    )


def test_the_site_root_leads_to_the_api_docs(client: Client) -> None:
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/api/docs")
