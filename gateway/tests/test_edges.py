"""What the facade enforces, through a real nginx: limits, the envelope, headers, known hosts."""

import http.client
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from strangler_testing.gateway import EchoUpstream, Reply, RunningGateway, running_gateway

from .conftest import table_text


def _table(text: str) -> str:
    # A small body limit on search and a low rate, so a burst is a few requests.
    return (
        text.replace('rate_limit = "100000r/s"', 'rate_limit = "2r/s"')
        .replace("rate_burst = 100000", 'rate_burst = 4\nclient_max_body_size = "64k"')
        .replace('name = "search"\n', 'name = "search"\nmax_body = "1k"\n')
    )


@pytest.fixture
def gateway(
    tmp_path: Path,
    upstreams: dict[str, EchoUpstream],
    write_table: Callable[[str], Path],
) -> Iterator[RunningGateway]:
    servers = {name: [upstream.address] for name, upstream in upstreams.items()}
    table = write_table(_table(table_text()))
    with running_gateway(table, tmp_path / "nginx", servers) as running:
        yield running


def _raw(gateway: RunningGateway, request: bytes) -> bytes:
    host, port = gateway.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _assert_envelope(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body[:300]
    assert reply.headers["content-type"] == "application/json"
    error = reply.json()["error"]
    assert (error["code"], error["request_id"]) == (code, reply.headers["x-request-id"])
    assert error["message"]
    assert reply.headers["x-served-by"] == "gateway"


def test_a_body_over_the_routes_limit_is_413_json(gateway: RunningGateway) -> None:
    reply = gateway.fetch("/api/search", method="POST", body=b"x" * 2048)

    _assert_envelope(reply, 413, "payload_too_large")


def test_a_body_under_the_routes_limit_passes(gateway: RunningGateway) -> None:
    assert gateway.fetch("/api/search", method="POST", body=b"x" * 512).status == 200


def test_the_table_wide_limit_holds_on_other_paths(gateway: RunningGateway) -> None:
    reply = gateway.fetch("/anything", method="POST", body=b"x" * (65 * 1024))

    _assert_envelope(reply, 413, "payload_too_large")


def test_a_burst_over_the_rate_is_429_with_retry_after(gateway: RunningGateway) -> None:
    conn = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=10)
    try:
        statuses = []
        for _ in range(12):
            reply = gateway.fetch("/api/search?q=x", connection=conn)
            statuses.append(reply.status)
            if reply.status == 429:
                break
    finally:
        conn.close()

    assert statuses[-1] == 429, statuses
    assert statuses.count(200) >= 4
    _assert_envelope(reply, 429, "rate_limited")
    assert reply.headers["retry-after"] == "1"


def test_the_rate_is_counted_per_client_key(gateway: RunningGateway) -> None:
    for user in range(12):
        reply = gateway.fetch("/api/search?q=x", headers={"X-User-Id": f"user-{user}"})
        assert reply.status == 200


def test_trace_is_405_with_allow(gateway: RunningGateway) -> None:
    reply = gateway.fetch("/api/search", method="TRACE")

    _assert_envelope(reply, 405, "method_not_allowed")
    assert "GET" in reply.headers["allow"] and "TRACE" not in reply.headers["allow"]


def test_a_long_url_is_414_json(gateway: RunningGateway) -> None:
    reply = gateway.fetch("/api/search?q=" + "x" * 20_000)

    _assert_envelope(reply, 414, "uri_too_long")


def test_oversized_headers_are_431_json(gateway: RunningGateway) -> None:
    reply = gateway.fetch("/api/search", headers={"X-Padding": "x" * 20_000})

    _assert_envelope(reply, 431, "headers_too_large")


def test_a_malformed_request_is_400_json(gateway: RunningGateway) -> None:
    reply = _raw(gateway, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon\r\n\r\n")

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b'"code":"bad_request"' in body


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.2"])
def test_an_unknown_host_is_421_json_and_never_proxied(
    gateway: RunningGateway, upstreams: dict[str, EchoUpstream], host: str
) -> None:
    reply = gateway.fetch("/api/search?q=x", headers={"Host": host})

    _assert_envelope(reply, 421, "misdirected_request")
    assert not upstreams["monolith"].requests()


def test_http10_without_host_is_421_json(gateway: RunningGateway) -> None:
    reply = _raw(gateway, b"GET /api/search HTTP/1.0\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 421 ")
    assert b'"misdirected_request"' in reply


@pytest.mark.parametrize("path", ["/api/search?q=x", "/else", "/internal/x", "/traces/"])
def test_every_response_carries_the_security_headers(gateway: RunningGateway, path: str) -> None:
    reply = gateway.fetch(path)

    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["server"] == "nginx"
