"""Streaming routes: never buffered or compressed, and an open stream outlives a traffic shift."""

import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from strangler_gateway.control import set_route_mode
from strangler_gateway.testing import (
    EchoUpstream,
    Reply,
    RunningGateway,
    SseUpstream,
    running_gateway,
)

TOKENS = 20
TABLE = """\
[gateway]
listen = "127.0.0.1:8080"
catch_all = "monolith"
max_stream_seconds = 30

[upstreams.monolith]
servers = ["127.0.0.1:8000"]

[upstreams.streamer]
servers = ["127.0.0.1:8001"]

[upstreams.service]
servers = ["127.0.0.1:8002"]

[[routes]]
name = "chat"
path = "/api/chat"
legacy = "streamer"
new = "service"
streaming = true
mode = "legacy"
"""


@pytest.fixture
def streamer() -> Iterator[SseUpstream]:
    """The legacy side: twenty SSE tokens, 0.15 s apart (a shift fits well inside the stream)."""
    with SseUpstream("streamer", tokens=TOKENS, interval=0.15) as upstream:
        yield upstream


@pytest.fixture
def gateway(tmp_path: Path, streamer: SseUpstream) -> Iterator[RunningGateway]:
    """A gateway whose chat route streams from ``streamer`` (legacy) or an echo server (new)."""
    table = tmp_path / "routes.toml"
    table.write_text(TABLE)
    with EchoUpstream("monolith") as monolith, EchoUpstream("new") as new:
        servers = {"monolith": [monolith.address], "streamer": [streamer.address],
                   "service": [new.address]}  # fmt: skip
        with running_gateway(table, tmp_path / "nginx", servers) as running:
            yield running


def _open_stream(
    gateway: RunningGateway,
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=10)
    body = b'{"question": "refund?"}'
    headers = {"Accept": "text/event-stream", "Accept-Encoding": "gzip", "X-User-Id": "ana",
               "Content-Type": "application/json"}  # fmt: skip
    connection.request("POST", "/api/chat", body=body, headers=headers)
    return connection, connection.getresponse()


def _next_event(response: http.client.HTTPResponse, buffer: bytearray) -> str:
    while b"\n\n" not in buffer:
        chunk = response.read1(4096)
        assert chunk, "the stream ended before the next event"
        buffer.extend(chunk)
    event, _, rest = bytes(buffer).partition(b"\n\n")
    buffer[:] = rest
    return event.decode()


def _first_reply_of(gateway: RunningGateway, config: str) -> Reply:
    """Return the first reply routed by ``config`` (an old worker may take a last connection)."""
    deadline = time.monotonic() + 5
    while True:
        reply = gateway.fetch("/api/chat", method="POST", body=b"{}", headers={"X-User-Id": "bo"})
        if reply.headers["x-gateway-config"] == config or time.monotonic() > deadline:
            assert reply.headers["x-gateway-config"] == config
            return reply
        time.sleep(0.01)


def _events_until_done(response: http.client.HTTPResponse, buffer: bytearray) -> list[str]:
    events = []
    while not events or not events[-1].startswith("event: done"):
        events.append(_next_event(response, buffer))
    return events


def test_events_reach_the_client_as_they_are_produced(
    gateway: RunningGateway, streamer: SseUpstream
) -> None:
    connection, response = _open_stream(gateway)
    try:
        assert response.status == 200
        assert response.getheader("Content-Encoding") is None, "a stream must not be gzipped"
        buffer = bytearray()
        assert _next_event(response, buffer) == ": ping"
        first = _next_event(response, buffer)
        # A buffering gateway would hand over the first token only once the whole answer exists.
        assert streamer.completed == 0, "the first token arrived after the stream had finished"
        assert first.startswith("event: token")
        assert len(_events_until_done(response, buffer)) == TOKENS
    finally:
        connection.close()


def test_a_stream_opened_before_a_shift_completes_after_it(
    gateway: RunningGateway, streamer: SseUpstream
) -> None:
    connection, response = _open_stream(gateway)
    try:
        buffer = bytearray()
        assert _next_event(response, buffer) == ": ping"
        change = set_route_mode(gateway.table_path, gateway.prefix, "chat", "canary", 100)
        after = _first_reply_of(gateway, change.config_id)
        assert after.json()["upstream"] == "new", "new requests follow the shift"
        assert streamer.completed == 0, "the stream was still open during the reload"
        events = _events_until_done(response, buffer)
    finally:
        connection.close()
    tokens = [event for event in events if event.startswith("event: token")]
    assert len(tokens) == TOKENS, events
    assert events[-1] == f'event: done\ndata: {{"tokens": {TOKENS}}}'
    assert streamer.completed == 1
