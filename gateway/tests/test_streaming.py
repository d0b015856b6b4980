"""Streaming routes: never buffered or compressed, and an open stream outlives traffic shifts.

The last test is the issue's whole drill on a real nginx: a bounded load of 5,000 requests while
``/api/search`` flips ten times between 0 % and 100 % new, with a stream opened before the first
shift that must finish, every token in order, after the last one.
"""

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from strangler_gateway.nginx.process import apply
from strangler_gateway.tools.loadgen import Load
from strangler_gateway.traffic.control import set_route_mode
from strangler_testing import route, route_table, wait_until
from strangler_testing.gateway import (
    EchoUpstream,
    Reply,
    RunningGateway,
    SseUpstream,
    running_gateway,
)

TOKENS = 20
REQUESTS = 5000
SHIFTS = 10
TABLE = route_table(
    ["monolith", "streamer", "service"],
    [
        route("chat", "/api/chat", legacy="streamer", new="service", streaming=True, mode="legacy"),
        route("search", "/api/search", legacy="monolith", new="service", mode="canary", percent=0),
    ],
    # Long enough for the stream held open through all ten shifts on a slow machine.
    max_stream_seconds=300,
)


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
    events: list[str] = []
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
    wait_until(lambda: streamer.completed == 1, timeout=10, what="the stand-in's stream to finish")


def test_ten_shifts_under_load_fail_no_request_and_an_open_stream_finishes(
    gateway: RunningGateway, streamer: SseUpstream
) -> None:
    streamer.hold()
    connection, response = _open_stream(gateway)
    try:
        buffer = bytearray()
        assert _next_event(response, buffer) == ": ping"
        load = Load(
            gateway.url,
            "/api/search?q=x",
            total=REQUESTS,
            threads=4,
            headers=lambda number: {"X-User-Id": f"user-{number % 200}"},
        ).start()
        for shift in range(SHIFTS):
            load.wait_until((shift + 1) * REQUESTS // (SHIFTS + 1), timeout=120)
            set_route_mode(gateway.table_path, gateway.prefix, "search", "canary",
                           100 if shift % 2 == 0 else 0)  # fmt: skip
        result = load.join(timeout=300)
        assert streamer.completed == 0, "the stream was still open after the last shift"
        streamer.release()
        events = _events_until_done(response, buffer)
    finally:
        streamer.release()
        connection.close()
    assert result.failures == [], result.failures[:10]
    assert result.ok == REQUESTS
    assert result.served_by["legacy"] > 0 and result.served_by["new"] > 0
    texts = [json.loads(event.split("data: ", 1)[1])["text"] for event in events[:-1]]
    assert texts == [f"t{number}" for number in range(len(texts))], "a token was lost"
    assert events[-1] == f'event: done\ndata: {{"tokens": {len(texts)}}}'
    # The stand-in counts the stream as completed after its last write, which the client may read
    # first.
    wait_until(lambda: streamer.completed == 1, timeout=10, what="the stand-in's stream to finish")


def test_an_old_worker_ends_a_stream_that_outlives_max_stream_seconds(
    gateway: RunningGateway, streamer: SseUpstream
) -> None:
    # The other side of reload safety: old workers do not pile up behind endless streams.
    text = gateway.table_path.read_text().replace(
        "max_stream_seconds = 300", "max_stream_seconds = 1"
    )
    gateway.table_path.write_text(text)
    apply(gateway.table_path, gateway.prefix)
    streamer.hold()
    connection, response = _open_stream(gateway)
    try:
        buffer = bytearray()
        assert _next_event(response, buffer) == ": ping"
        # A mode change is structural: it reloads (a new percentage would not).
        set_route_mode(gateway.table_path, gateway.prefix, "search", "migrated")
        with pytest.raises(http.client.IncompleteRead):
            while True:
                _next_event(response, buffer)
    finally:
        streamer.release()
        connection.close()
    assert gateway.nginx.pid is not None
    _wait_for_workers(gateway.nginx.pid, count=2)


def _wait_for_workers(master: int, *, count: int) -> None:
    """Return once ``master`` has ``count`` worker processes; fail at the deadline."""
    deadline = time.monotonic() + 10
    while (found := _workers(master)) != count:
        assert time.monotonic() < deadline, f"{found} nginx workers, expected {count}"
        time.sleep(0.05)


def _workers(master: int) -> int:
    # Worker processes only: the session-check cache has a manager and a loader of its own.
    children = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            title = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended while being looked at
        children += int(fields[1]) == master and b"worker process" in title
    return children
