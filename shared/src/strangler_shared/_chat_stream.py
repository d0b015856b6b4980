"""The chat answer's event stream: the part of the chat contract both sides must speak alike.

``POST /api/chat`` with ``Accept: text/event-stream`` answers with Server-Sent Events, on the
monolith's legacy view and on rag alike: ``sources``, one ``token`` per piece of text, then
``done`` (``{"answer"}``) or ``error`` (``{"code", "message"}``). The gateway shifts users between
the two sides mid-migration and the shadow comparator and contract tests hold them to the same
answers, so the framing, the event names and the provider error codes are defined here once. How
each side produces the events (a blocking generator on a WSGI thread, an async generator on an
event loop) stays in each service.
"""

import json
from typing import Any

EVENT_STREAM = "text/event-stream"
# No cache may store a stream, and nginx must pass it through unbuffered.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# A heartbeat: a comment, which clients ignore and proxies count as traffic.
PING = b": ping\n\n"


def wants_event_stream(accept: str | None) -> bool:
    """Tell whether an Accept header asks for an event stream."""
    return EVENT_STREAM in (accept or "").lower()


def sse_event(name: str, data: Any) -> bytes:
    """Return one event in SSE framing: its name and one line of compact JSON."""
    payload = json.dumps(data, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n".encode()


class ProviderError(Exception):
    """The answer provider failed to produce (the rest of) an answer."""

    code = "provider_error"


class ProviderTimeoutError(ProviderError):
    """The provider did not produce its next piece of answer within its time budget."""

    code = "provider_timeout"
