"""Bad input at the monolith's HTTP boundary: always a clear error in the envelope, never a 500."""

import json
from typing import Any

import pytest
from django.test import Client

from core.customers.models import Customer
from core.knowledge.models import Article

pytestmark = pytest.mark.django_db

ABOVE_INT64 = "9223372036854775808"


def _error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/customers/{ABOVE_INT64}",
        f"/api/customers/{ABOVE_INT64}/suggestions",
        f"/api/customers/-{ABOVE_INT64}1",
        "/api/customers/%D9%A7",
        "/api/customers/7%C2%A0/suggestions",
    ],
)
def test_a_customer_id_outside_int64_or_not_digits_is_422(client: Client, path: str) -> None:
    response = client.get(path)

    assert _error(response) == (422, "validation_error")
    assert "customer_id" in response.json()["error"]["fields"]


@pytest.mark.parametrize("k", ["7%C2%A0", "%207", "7%20", "%2B7", "%D9%A7", "7.0", "0x7"])
@pytest.mark.parametrize("path", ["/api/search?q=card&k=", "/api/articles/1/related?k="])
def test_k_in_a_query_is_ascii_digits_only(client: Client, path: str, k: str) -> None:
    response = client.get(path + k)

    assert _error(response) == (422, "validation_error")
    assert "k" in response.json()["error"]["fields"]


def test_k_in_a_query_still_takes_plain_digits(client: Client) -> None:
    response = client.get("/api/search?q=card&k=07")

    assert (response.status_code, response.json()["k"]) == (200, 7)


def _chat(client: Client, body: bytes, content_type: str = "application/json") -> Any:
    return client.post("/api/chat", data=body, content_type=content_type)


@pytest.mark.parametrize("k", ["8.0", "8", "8e0", "50.0"])
def test_an_integral_json_number_is_an_integer(client: Client, make_article: Any, k: str) -> None:
    make_article(title="Card declined", body="When a card is declined, update it.")
    response = _chat(client, b'{"question": "card declined", "k": ' + k.encode() + b"}")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("k", ['"8"', "true", "8.5", "1e400", "51.0", "0.0"])
def test_anything_else_is_not_an_integer(client: Client, k: str) -> None:
    response = _chat(client, b'{"question": "card", "k": ' + k.encode() + b"}")

    assert _error(response) == (422, "validation_error")
    assert "k" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/jsonx",
    ],
)
def test_a_body_that_does_not_say_json_is_415(client: Client, content_type: str) -> None:
    response = _chat(client, b'{"question": "card"}', content_type)

    assert _error(response) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/vnd+json"]
)
def test_json_media_types_are_read(client: Client, content_type: str) -> None:
    response = _chat(client, b'{"question": "card"}', content_type)

    assert response.status_code == 200, response.content


def test_a_body_over_the_upload_limit_is_413(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"question": "card " * 400}).encode()

    response = _chat(client, body)

    assert _error(response) == (413, "payload_too_large")
    assert response["X-Service"] == "core"


@pytest.mark.parametrize("path", ["/api/chat", "/api/search", "/healthz", "/api/customers/1"])
def test_trace_is_405_with_allow(client: Client, path: str) -> None:
    response = client.generic("TRACE", path)

    assert _error(response) == (405, "method_not_allowed")
    assert response["Allow"]
    assert "TRACE" not in response["Allow"]


def test_customer_id_at_the_int64_bound_is_still_looked_up(client: Client) -> None:
    assert not Customer.objects.exists()
    response = client.get("/api/customers/9223372036854775807")

    assert _error(response) == (404, "not_found")
    assert Article.objects.count() == 0


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000]
)
def test_a_body_nested_too_deeply_is_400(client: Client, body: bytes) -> None:
    response = _chat(client, body)

    assert _error(response) == (400, "invalid_json")
