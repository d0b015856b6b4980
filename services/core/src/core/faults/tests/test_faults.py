"""Legacy noise: set over /internal/faults, applied to the public API's answers by every worker."""

import json
from collections.abc import Callable

import pytest
from django.test import Client

from core.faults import services
from core.faults.models import FaultFlags
from core.knowledge.models import Article

pytestmark = pytest.mark.django_db
URL = "/internal/faults"


def _put(client: Client, body: object, token: str, content_type: str = "application/json"):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.put(URL, data, content_type=content_type,
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def test_no_noise_by_default(client: Client, service_token: str) -> None:
    response = client.get(URL, headers={"Authorization": f"Bearer {service_token}"})

    assert response.status_code == 200
    assert response.json() == {"noise_field": ""}


@pytest.mark.parametrize("header", ["", "Bearer wrong-token", "Basic abc"])
def test_a_call_without_the_service_token_is_refused(
    client: Client, service_token: str, header: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.put(URL, "{}", content_type="application/json", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == "Bearer"
    assert not FaultFlags.objects.exists()


def test_set_noise_reaches_the_search_answers_with_a_new_value_each_time(
    client: Client, service_token: str, make_article: Callable[..., Article]
) -> None:
    make_article(title="Invoices", body="Download an invoice from the billing page.")

    assert _put(client, {"noise_field": "served_at"}, service_token).json() == {
        "noise_field": "served_at"
    }
    first, second = (client.get("/api/search", {"q": "invoice"}) for _ in range(2))

    assert first.status_code == second.status_code == 200
    assert first["Content-Length"] == str(len(first.content))
    one, two = first.json(), second.json()
    assert one.pop("served_at") != two.pop("served_at")
    assert one == two and one["results"][0]["title"] == "Invoices", "the answer itself unchanged"


def test_an_empty_body_clears_the_noise(
    client: Client, service_token: str, make_article: Callable[..., Article]
) -> None:
    make_article(title="Invoices", body="Download an invoice from the billing page.")
    _put(client, {"noise_field": "served_at"}, service_token)

    assert _put(client, {}, service_token).json() == {"noise_field": ""}
    assert "served_at" not in client.get("/api/search", {"q": "invoice"}).json()


def test_errors_and_the_api_description_carry_no_noise(client: Client, service_token: str) -> None:
    _put(client, {"noise_field": "served_at"}, service_token)

    assert "served_at" not in client.get("/api/search", {"q": ""}).json()
    assert "served_at" not in client.get("/api/openapi.json").json()


def test_another_worker_sees_the_change_once_its_cache_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    assert services.noise_field() == ""
    # Another worker process writes the row; this one still trusts what it read...
    FaultFlags.objects.update_or_create(pk=1, defaults={"noise_field": "request_id"})
    clock[0] += services.CACHE_SECONDS * 0.9
    assert services.noise_field() == ""
    # ...until it is CACHE_SECONDS old.
    clock[0] += services.CACHE_SECONDS * 0.1
    assert services.noise_field() == "request_id"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"noise_field": "has space"}, 422, "validation_error"),
        ({"noise_field": "x" * 65}, 422, "validation_error"),
        ({"noise_field": 3}, 422, "validation_error"),
        ({"error_rate": 0.5}, 422, "validation_error"),
        ("[1, 2]", 400, "invalid_json"),
        ("{not json", 400, "invalid_json"),
    ],
)
def test_bad_flags_are_refused_in_the_envelope_and_change_nothing(
    client: Client, service_token: str, body: object, status: int, code: str
) -> None:
    response = _put(client, body, service_token)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not FaultFlags.objects.exists()


def test_a_body_that_is_not_json_is_415(client: Client, service_token: str) -> None:
    response = _put(client, "noise_field=x", service_token, content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
