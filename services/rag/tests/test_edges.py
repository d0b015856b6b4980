"""Bad input at rag's HTTP boundary: the same clear errors as core's side of each route."""

import json
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.anyio

ABOVE_INT64 = "9223372036854775808"


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize(
    "customer_id", [ABOVE_INT64, f"-{ABOVE_INT64}1", "%D9%A7", "7%C2%A0", "%2B7"]
)
async def test_a_customer_id_outside_int64_or_not_digits_is_422(
    client: httpx.AsyncClient, service_token: str, customer_id: str
) -> None:
    response = await client.get(
        f"/internal/customers/{customer_id}/suggestions",
        headers={"Authorization": f"Bearer {service_token}"},
    )

    assert _error(response) == (422, "validation_error")
    assert "customer_id" in response.json()["error"]["fields"]


@pytest.mark.parametrize("k", ["7%C2%A0", "%207", "7%20", "%2B7", "%D9%A7", "7.0", "0x7"])
async def test_k_in_a_query_is_ascii_digits_only(client: httpx.AsyncClient, k: str) -> None:
    response = await client.get(f"/api/search?q=card&k={k}")

    assert _error(response) == (422, "validation_error")
    assert "k" in response.json()["error"]["fields"]


async def test_k_in_a_query_still_takes_plain_digits(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search?q=card&k=03")

    assert (response.status_code, response.json()["k"]) == (200, 3)


async def _chat(client: httpx.AsyncClient, body: bytes, content_type: str) -> httpx.Response:
    return await client.post("/api/chat", content=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("k", ["8.0", "8", "8e0", "50.0"])
async def test_an_integral_json_number_is_an_integer(client: httpx.AsyncClient, k: str) -> None:
    body = b'{"question": "payment failed", "k": ' + k.encode() + b"}"
    response = await _chat(client, body, "application/json")

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("k", ['"8"', "true", "8.5", "1e400", "51.0", "0.0"])
async def test_anything_else_is_not_an_integer(client: httpx.AsyncClient, k: str) -> None:
    body = b'{"question": "card", "k": ' + k.encode() + b"}"
    response = await _chat(client, body, "application/json")

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
async def test_a_body_that_does_not_say_json_is_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await _chat(client, b'{"question": "card"}', content_type)

    assert _error(response) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/vnd+json"]
)
async def test_json_media_types_are_read(client: httpx.AsyncClient, content_type: str) -> None:
    response = await _chat(client, b'{"question": "card"}', content_type)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/api/chat", "/api/search", "/healthz", "/internal/faults"])
async def test_trace_is_405_with_allow(client: httpx.AsyncClient, path: str) -> None:
    response = await client.request("TRACE", path)

    assert _error(response) == (405, "method_not_allowed")
    assert response.headers["Allow"]
    assert "TRACE" not in response.headers["Allow"]


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/api/chat/ws"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (b'{"question": "card"}', 1003),
        ("[" * 100_000 + "]" * 100_000, 1007),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, 1007),
    ],
    ids=["binary", "nested-array", "nested-object"],
)
def test_websocket_closes_with_a_reason_on_what_it_cannot_read(
    serve_rag: Any, message: str | bytes, code: int
) -> None:
    with serve_rag() as served, connect(_ws_url(served.base_url), max_size=None) as socket:
        socket.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)

    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    assert closed.value.rcvd.code == code
    assert closed.value.rcvd.reason


def test_websocket_still_answers_json_nested_a_little(serve_rag: Any) -> None:
    with serve_rag() as served, connect(_ws_url(served.base_url)) as socket:
        socket.send(json.dumps({"question": "card", "extra": [[[[1]]]]}))
        reply = json.loads(socket.recv(timeout=10))

    assert reply["event"] == "error"
    assert reply["data"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000]
)
async def test_a_body_nested_too_deeply_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await _chat(client, body, "application/json")

    assert _error(response) == (400, "invalid_json")


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.request("OPTIONS", "/internal/faults")

    assert _error(response) == (405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT"}


async def test_a_body_over_the_limit_is_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    # Around the gateway, rag bounds what it reads itself: the default is 1 MiB.
    body = b'{"question": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/api/chat", content=body, headers={"Content-Type": "application/json"}
    )

    assert _error(response) == (413, "payload_too_large")


async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        # No Content-Length: the limit holds while the body is read.
        yield b'{"question": "'
        for _ in range(20):
            yield b"x" * 64 * 1024
        yield b'"}'

    response = await client.post(
        "/api/chat", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert _error(response) == (413, "payload_too_large")
