"""The chat stream's framing and the X-Service header: what legacy and new must send alike."""

import asyncio
import json
from typing import Any

import pytest
from strangler_shared import (
    EVENT_STREAM,
    PING,
    SERVICE_HEADER,
    ProviderError,
    ProviderTimeoutError,
    ServiceHeaderMiddleware,
    sse_event,
    wants_event_stream,
)


def _parse(frame: bytes) -> tuple[str, Any]:
    assert frame.endswith(b"\n\n"), "an event ends with a blank line"
    event, data = frame.decode().removesuffix("\n\n").split("\n")
    return event.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def test_an_event_is_its_name_and_one_line_of_compact_json() -> None:
    frame = sse_event("token", {"text": "Refunds take\n5 days [1]."})

    assert frame == b'event: token\ndata: {"text":"Refunds take\\n5 days [1]."}\n\n'
    assert _parse(frame) == ("token", {"text": "Refunds take\n5 days [1]."})


def test_a_ping_is_a_comment_that_clients_skip() -> None:
    assert PING.startswith(b":") and PING.endswith(b"\n\n")


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        ("text/event-stream", True),
        ("application/json, TEXT/EVENT-STREAM;q=0.9", True),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_the_accept_header_chooses_the_stream(accept: str | None, wanted: bool) -> None:
    assert wants_event_stream(accept) is wanted
    assert EVENT_STREAM == "text/event-stream"


def test_provider_errors_carry_the_codes_of_the_error_event() -> None:
    assert ProviderError("down").code == "provider_error"
    timeout = ProviderTimeoutError("nothing for 5 s")
    assert isinstance(timeout, ProviderError) and timeout.code == "provider_timeout"


def _run_asgi(scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"1")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(ServiceHeaderMiddleware(app, "rag")(scope, receive, send))
    return sent


def test_every_http_response_names_the_service_and_the_body_passes_untouched() -> None:
    start, body = _run_asgi({"type": "http"})

    assert start["headers"] == [(b"a", b"1"), (SERVICE_HEADER.lower().encode(), b"rag")]
    assert body == {"type": "http.response.body", "body": b"ok"}


def test_other_scopes_pass_through_unchanged() -> None:
    start, _ = _run_asgi({"type": "websocket"})

    assert start["headers"] == [(b"a", b"1")]
