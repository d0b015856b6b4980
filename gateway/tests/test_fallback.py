"""Legacy as the automatic fallback: idempotent requests only, visible, never a replay."""

import socket
import threading
from collections.abc import Iterator

import pytest
from strangler_gateway.nginx.process import apply
from strangler_testing.gateway import EchoUpstream, RunningGateway

from .conftest import MakeGateway

MIGRATED = 'mode = "migrated"'


def _baggage(received: dict[str, object]) -> dict[str, str]:
    headers = received["headers"]
    assert isinstance(headers, dict)
    return dict(entry.split("=", 1) for entry in headers["baggage"].split(","))


def _assert_fallback(gateway: RunningGateway, reply_headers: dict[str, str]) -> None:
    assert reply_headers["x-served-by"] == "legacy"
    assert reply_headers["x-migration-fallback"] == "true"
    (line,) = gateway.access_log_entries(at_least=1)
    assert (line["target"], line["fallback"], line["mode"]) == ("legacy", True, "migrated")
    assert " : " in line["upstream_addr"], "both attempts are in the log line"


def test_a_refused_connection_falls_back_to_legacy(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway(MIGRATED)
    upstreams["service"].stop()
    reply = gateway.fetch("/api/search?q=x", headers={"baggage": "tenant=acme"})
    assert reply.status == 200
    assert reply.json()["upstream"] == "legacy"
    _assert_fallback(gateway, dict(reply.headers))
    baggage = _baggage(reply.json())
    assert baggage["tenant"] == "acme"
    assert (baggage["migration.target"], baggage["migration.fallback"]) == ("legacy", "true")


@pytest.mark.parametrize("status", [502, 503])
def test_a_502_or_503_from_new_falls_back_to_legacy(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream], status: int
) -> None:
    gateway = make_gateway(MIGRATED)
    upstreams["service"].status = status
    reply = gateway.fetch("/api/search?q=x")
    assert (reply.status, reply.json()["upstream"]) == (200, "legacy")
    _assert_fallback(gateway, dict(reply.headers))
    (first,) = upstreams["service"].requests()
    assert (_baggage(first)["migration.target"], _baggage(first)["migration.fallback"]) == (
        "new",
        "false",
    )
    (line,) = gateway.access_log_entries(at_least=1)
    assert line["upstream_status"] == f"{status} : 200"


def test_other_errors_of_new_reach_the_client(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway(MIGRATED)
    upstreams["service"].status = 500
    reply = gateway.fetch("/api/search?q=x")
    assert (reply.status, reply.json()["upstream"]) == (500, "new")
    assert reply.headers["x-migration-fallback"] == "false"
    assert upstreams["monolith"].requests() == []


@pytest.fixture
def silent_new(upstreams: dict[str, EchoUpstream]) -> Iterator[str]:
    """A server that accepts connections and never answers (a hung new service)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.1)
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield f"127.0.0.1:{server.getsockname()[1]}"
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()


def test_a_timeout_of_new_falls_back_to_legacy(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream], silent_new: str
) -> None:
    gateway = make_gateway(MIGRATED)
    text = gateway.table_path.read_text()
    gateway.table_path.write_text(
        text.replace("stream_read_seconds", "read_seconds = 1\nstream_read_seconds")
    )
    overrides = {name: [upstream.address] for name, upstream in upstreams.items()}
    apply(gateway.table_path, gateway.prefix, {**overrides, "service": [silent_new]})
    reply = gateway.fetch("/api/search?q=x")
    assert (reply.status, reply.json()["upstream"]) == (200, "legacy")
    (line,) = gateway.access_log_entries(at_least=1)
    assert line["upstream_status"] == "504 : 200"
    assert line["fallback"] is True


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "OPTIONS"])
def test_every_idempotent_method_falls_back(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream], method: str
) -> None:
    gateway = make_gateway(MIGRATED)
    upstreams["service"].stop()
    reply = gateway.fetch("/api/search/1", method=method, body=b"" if method != "PUT" else b"{}")
    assert reply.status == 200
    assert reply.headers["x-migration-fallback"] == "true"
    assert upstreams["monolith"].requests()[0]["method"] == method


def test_a_streaming_route_re_sends_the_body_new_already_read(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    # Streams are not buffered on the way back, but request bodies are: new has read this one
    # before answering 503, and legacy still gets all of it.
    gateway = make_gateway(stream=MIGRATED)
    upstreams["service"].status = 503
    body = b'{"question": "refund?"}' * 2000
    reply = gateway.fetch("/api/chat/stream", method="PUT", body=body)
    assert (reply.status, reply.json()["upstream"]) == (200, "legacy")
    assert reply.json()["body"] == body.decode()
    assert upstreams["service"].requests()[0]["body"] == body.decode()
    assert reply.headers["x-migration-fallback"] == "true"


def test_a_post_is_never_replayed_on_legacy(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway(MIGRATED)
    upstreams["service"].stop()
    reply = gateway.fetch("/api/search", method="POST", body=b'{"q": "x"}')
    assert reply.status == 502
    assert reply.json()["error"]["code"] == "upstream_unavailable"
    assert (reply.headers["x-served-by"], reply.headers["x-migration-fallback"]) == (
        "gateway",
        "false",
    )
    assert upstreams["monolith"].requests() == [], "the POST reached legacy"
    (line,) = gateway.access_log_entries(at_least=1)
    assert (line["status"], line["fallback"], line["target"]) == (502, False, "new")


def test_a_post_gets_new_s_own_503(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    # A 503 with a body of its own (a webhook adapter asking the sender to retry) passes through.
    gateway = make_gateway(MIGRATED)
    upstreams["service"].status = 503
    reply = gateway.fetch("/api/search", method="POST", body=b"{}")
    assert (reply.status, reply.json()["upstream"]) == (503, "new")
    assert upstreams["monolith"].requests() == []


def test_canary_users_on_new_fall_back_and_users_on_legacy_do_not_notice(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 50')
    upstreams["service"].stop()
    sides = set()
    for user in range(40):
        reply = gateway.fetch("/api/search?q=x", headers={"X-User-Id": f"user-{user}"})
        assert (reply.status, reply.json()["upstream"]) == (200, "legacy")
        sides.add(reply.headers["x-migration-fallback"])
    assert sides == {"true", "false"}, "both kinds of users were in the sample"


def test_legacy_and_retired_routes_never_fall_back(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway('mode = "retired"')
    upstreams["service"].stop()
    reply = gateway.fetch("/api/search?q=x")
    assert (reply.status, reply.headers["x-served-by"]) == (502, "gateway")
    assert upstreams["monolith"].requests() == []
