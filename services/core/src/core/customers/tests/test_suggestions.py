"""GET /api/customers/{id}/suggestions: core delegates to rag over real HTTP.

A real HTTP server on a free port plays rag, so the test sees exactly what crosses the wire:
the bearer token, the query string, and each way the call can fail.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from core import outbound

SUGGESTIONS = {
    "customer_id": 7,
    "query": "payment failed invoice card declined",
    "results": [
        {"id": 3, "slug": "card-declined", "title": "Card declined", "snippet": "...", "score": 2.5}
    ],
}


@dataclass
class FakeRag:
    """What the fake rag answers next, and what it was sent."""

    status: int = 200
    body: bytes = json.dumps(SUGGESTIONS).encode()
    hold: bool = False
    set_cookie: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, Any]] = field(default_factory=list)


def _handler(rag: FakeRag) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as uvicorn serves rag: a client may reuse its connection.
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            rag.requests.append(
                {"path": self.path, "headers": dict(self.headers), "peer": self.client_address}
            )
            if rag.hold:
                rag.release.wait(timeout=10)
            self.send_response(rag.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(rag.body)))
            if rag.set_cookie:
                self.send_header("Set-Cookie", rag.set_cookie)
            self.end_headers()
            self.wfile.write(rag.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def rag(settings: Settings, service_token: str) -> Iterator[FakeRag]:
    fake = FakeRag()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.RAG_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.CORE_RAG_TIMEOUT_SECONDS = 0.5
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_success_passes_rags_body_through_with_the_token_sent(
    client: Client, rag: FakeRag, service_token: str
) -> None:
    response = client.get("/api/customers/7/suggestions?k=2")

    assert response.status_code == 200
    assert response.json() == SUGGESTIONS
    assert response["X-Service"] == "core"
    [sent] = rag.requests
    assert sent["path"] == "/internal/customers/7/suggestions?k=2"
    assert sent["headers"]["Authorization"] == f"Bearer {service_token}"


def test_sequential_calls_reuse_one_connection(client: Client, rag: FakeRag) -> None:
    for _ in range(3):
        assert client.get("/api/customers/7/suggestions").status_code == 200

    assert len(rag.requests) == 3
    assert len({sent["peer"] for sent in rag.requests}) == 1


def test_a_cookie_rag_sets_goes_out_with_no_later_call(client: Client, rag: FakeRag) -> None:
    # The pooled client calls for every user of the worker: one answer's cookie is no one's.
    rag.set_cookie = "session=first-callers; Path=/"
    for _ in range(2):
        assert client.get("/api/customers/7/suggestions").status_code == 200

    assert [sent["headers"].get("Cookie") for sent in rag.requests] == [None, None]
    assert len({sent["peer"] for sent in rag.requests}) == 1


def test_a_connection_idle_past_the_keepalive_is_not_reused(
    client: Client, rag: FakeRag, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rag (uvicorn) closes an idle connection after 5 s; reusing one at that moment fails the
    # call, so core lets go of it first.
    monkeypatch.setattr(outbound, "KEEPALIVE_SECONDS", 0.2)
    for pause in (0.0, 0.0, 0.4):
        time.sleep(pause)
        assert client.get("/api/customers/7/suggestions").status_code == 200

    first, again, after_idle = (sent["peer"] for sent in rag.requests)
    assert first == again
    assert after_idle != first


def test_the_keepalive_ends_before_rags_server_closes_the_connection() -> None:
    uvicorn_keep_alive = 5  # rag runs uvicorn with its default --timeout-keep-alive
    assert uvicorn_keep_alive > outbound.KEEPALIVE_SECONDS


def test_k_defaults_to_three(client: Client, rag: FakeRag) -> None:
    client.get("/api/customers/7/suggestions")

    assert rag.requests[0]["path"].endswith("?k=3")


def test_rag_not_found_is_not_found(client: Client, rag: FakeRag) -> None:
    rag.status, rag.body = 404, b'{"error": {"code": "not_found", "message": "no such customer"}}'

    response = client.get("/api/customers/9/suggestions")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("status", "body"), [(500, b'{"error": {}}'), (401, b"{}"), (200, b"<html>"), (200, b"[1]")]
)
def test_other_rag_failures_are_upstream_errors(
    client: Client, rag: FakeRag, status: int, body: bytes
) -> None:
    rag.status, rag.body = status, body

    response = client.get("/api/customers/7/suggestions")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


def test_a_slow_rag_is_a_timeout(client: Client, rag: FakeRag) -> None:
    rag.hold = True

    response = client.get("/api/customers/7/suggestions")

    assert response.status_code == 504
    assert response.json()["error"] == {
        "code": "upstream_timeout",
        "message": "the suggestion service timed out",
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_rag_is_upstream_unavailable(
    client: Client, settings: Settings, service_token: str
) -> None:
    settings.RAG_BASE_URL = f"http://127.0.0.1:{_closed_port()}"

    response = client.get("/api/customers/7/suggestions")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize("k", ["0", "51", "x"])
def test_k_out_of_range_is_refused_before_calling_rag(client: Client, rag: FakeRag, k: str) -> None:
    response = client.get(f"/api/customers/7/suggestions?k={k}")

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"k"}
    assert rag.requests == []


def test_without_a_service_token_core_fails_cleanly(
    client: Client, monkeypatch: pytest.MonkeyPatch, rag: FakeRag
) -> None:
    monkeypatch.delenv("STRANGLER_SERVICE_TOKEN")

    response = client.get("/api/customers/7/suggestions")

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }
    assert rag.requests == []
