"""Bad input at the edge of each public route: the monolith and the new service answer alike.

Content types, numbers and query integers are read by one shared set of rules
(``strangler_shared``), so the same request gets the same status and code on either side.
"""

import httpx
import pytest

pytestmark = pytest.mark.stack


def _answer(api: httpx.Client, response: httpx.Response) -> tuple[int, str | None]:
    assert response.headers["x-service"] == api.headers["x-expected-service"]
    if response.status_code == 200:
        return 200, None
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", (415, "unsupported_media_type")),
        ("application/xml", (415, "unsupported_media_type")),
        ("application/x-www-form-urlencoded", (415, "unsupported_media_type")),
        ("multipart/form-data; boundary=x", (415, "unsupported_media_type")),
        ("application/json; charset=utf-8", (200, None)),
        ("application/problem+json", (200, None)),
    ],
)
def test_chat_reads_json_bodies_only(
    api: httpx.Client, content_type: str, expected: tuple[int, str | None]
) -> None:
    response = api.post(
        "/api/chat", content=b'{"question": "card"}', headers={"Content-Type": content_type}
    )

    assert _answer(api, response) == expected


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        ("8.0", (200, None)),
        ("8", (200, None)),
        ('"8"', (422, "validation_error")),
        ("8.5", (422, "validation_error")),
        ("true", (422, "validation_error")),
    ],
)
def test_chat_k_is_a_json_schema_integer(
    api: httpx.Client, k: str, expected: tuple[int, str | None]
) -> None:
    body = b'{"question": "card", "k": ' + k.encode() + b"}"
    response = api.post("/api/chat", content=body, headers={"Content-Type": "application/json"})

    assert _answer(api, response) == expected


@pytest.mark.parametrize("k", ["7%C2%A0", "%207", "%2B7", "%D9%A7", "7.0"])
def test_search_k_is_ascii_digits(api: httpx.Client, k: str) -> None:
    response = api.get(f"/api/search?q=card&k={k}")

    assert _answer(api, response) == (422, "validation_error")


def test_trace_is_405_with_allow(api: httpx.Client) -> None:
    response = api.request("TRACE", "/api/chat")

    assert _answer(api, response) == (405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
