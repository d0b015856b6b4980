"""What the facade enforces for every client, checked through the real stack.

Every error nginx makes itself is the project's JSON envelope with the request id, a request for
a host the gateway does not serve never reaches Django (whose local DEBUG page would leak
settings and paths), bodies and request rates are bounded, and every response carries the
security headers.
"""

import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from devstack import Stack

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def _raw(stack: Stack, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", stack.config.ports.gateway), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _assert_envelope(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.2", "localhost.evil.example"])
def test_an_unknown_host_never_reaches_django(gateway: httpx.Client, host: str) -> None:
    response = gateway.get("/api/customers/1", headers={"Host": host})

    _assert_envelope(response, 421, "misdirected_request")
    assert "x-service" not in response.headers


def test_an_http10_request_without_host_gets_json_not_a_debug_page(stack: Stack) -> None:
    reply = _raw(stack, b"GET /api/customers/1 HTTP/1.0\r\n\r\n")

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 421 "), head
    assert b"Traceback" not in body and b"<html" not in body.lower()
    assert b'"misdirected_request"' in body


def test_trace_is_405_with_allow(gateway: httpx.Client) -> None:
    response = gateway.request("TRACE", "/api/search")

    _assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]
    assert "TRACE" not in response.headers["allow"]


def test_an_unknown_method_on_a_route_needing_a_user_is_405_not_401(
    gateway: httpx.Client,
) -> None:
    # The method is refused before anyone asks who the user is, as the service itself would.
    response = gateway.request("QUERY", "/api/me")

    _assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_a_body_over_the_routes_limit_is_413_json(gateway: httpx.Client) -> None:
    response = gateway.post(
        "/api/chat", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip

    _assert_envelope(response, 413, "payload_too_large")


def test_a_url_over_the_limit_is_414_json(gateway: httpx.Client) -> None:
    response = gateway.get("/api/search", params={"q": "x" * 20_000})

    _assert_envelope(response, 414, "uri_too_long")


def test_headers_over_the_limit_are_json(gateway: httpx.Client) -> None:
    response = gateway.get("/api/search", headers={"X-Padding": "x" * 20_000})

    assert response.status_code in (400, 431, 494)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "headers_too_large"


def test_a_malformed_request_is_400_json(stack: Stack) -> None:
    reply = _raw(stack, b"GET /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n")

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b'"code":"bad_request"' in body


@pytest.mark.parametrize(
    "path", ["/api/search?q=invoice", "/admin/login/", "/traces/", "/internal/x", "/healthz"]
)
def test_every_response_carries_the_security_headers(gateway: httpx.Client, path: str) -> None:
    response = gateway.get(path)

    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], (path, name)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert response.headers["server"] == "nginx"


def test_a_burst_over_the_rate_limit_is_429_with_retry_after(gateway: httpx.Client, poll) -> None:
    # A bounded burst from one anonymous client (keyed by its address): well over the burst
    # allowance, on a cheap route, then the limit lifts again by itself.
    def hit(_: int) -> httpx.Response:
        return gateway.get("/healthz")

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(hit, range(400)))
    limited = [response for response in responses if response.status_code == 429]

    assert limited, "no request was limited"
    assert {r.status_code for r in responses} <= {200, 429}
    _assert_envelope(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["retry-after"]) >= 1
    poll(lambda: gateway.get("/healthz").status_code == 200, seconds=10)
