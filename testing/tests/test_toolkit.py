"""The toolkit's own pieces: deadlines that fail, ports held until the server has them."""

import socket
import tomllib
from pathlib import Path

import pytest
from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from strangler_gateway.routetable import load_route_table
from strangler_testing import (
    DeadlineError,
    bound_socket,
    captured_spans,
    port_of,
    route,
    route_table,
    wait_until,
)
from strangler_testing.servers import serve_in_thread


def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([0, None, "ready"])
    assert wait_until(lambda: next(answers), timeout=5, every=0) == "ready"


def test_wait_until_fails_at_the_deadline_with_what_it_waited_for() -> None:
    with pytest.raises(DeadlineError, match="the moon"):
        wait_until(lambda: False, timeout=0.05, every=0.01, what="the moon")


def test_wait_until_gives_up_at_once_when_the_waited_on_thing_died() -> None:
    with pytest.raises(DeadlineError, match="no longer alive"):
        wait_until(lambda: False, timeout=60, alive=lambda: False)


def test_a_held_port_cannot_be_taken_by_another_bind() -> None:
    with bound_socket() as held:
        other = socket.socket()
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port_of(held)))


def test_serve_in_thread_serves_on_the_socket_it_bound() -> None:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", hello)])
    with serve_in_thread(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert b"hello" in b"".join(iter(lambda: conn.recv(4096), b""))


def test_captured_spans_reads_spans_the_moment_they_end() -> None:
    with captured_spans("toolkit") as spans:
        tracer: Tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("work"):
            pass
        assert [span.name for span in spans.named("work")] == ["work"]
        assert spans.finished()[0].resource.attributes["service.name"] == "toolkit"


def test_route_table_builds_a_table_the_gateway_loads(tmp_path: Path) -> None:
    search = route("search", "/api/search", legacy="monolith", new="service", mode="canary")
    text = route_table(
        ["monolith", "service"], [{**search, "percent": 5}], sticky_header="X-User-Id"
    )
    assert tomllib.loads(text)["gateway"]["catch_all"] == "monolith"
    path = tmp_path / "routes.toml"
    path.write_text(text)
    table = load_route_table(path)
    assert [r.name for r in table.routes] == ["search"]
    assert table.routes[0].percent == 5
