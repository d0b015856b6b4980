"""Answer streams as Server-Sent Events (``POST /api/chat`` with ``Accept: text/event-stream``).

Each event is ``event: <name>`` and one ``data:`` line of compact JSON; a heartbeat is the
comment ``: ping``, which clients ignore and proxies see as traffic.
"""

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from rag.streaming.events import ChatEvent, StreamItem

MEDIA_TYPE = "text/event-stream"
PING = b": ping\n\n"
# No cache may store a stream, and nginx must pass it through unbuffered.
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def wants_event_stream(accept: str | None) -> bool:
    """Tell whether an Accept header asks for an event stream."""
    return MEDIA_TYPE in (accept or "").lower()


def encode(event: ChatEvent) -> bytes:
    """Return one event in SSE framing."""
    data = json.dumps(event.data, separators=(",", ":"))
    return f"event: {event.name}\ndata: {data}\n\n".encode()


async def sse_body(items: AsyncGenerator[StreamItem, None]) -> AsyncIterator[bytes]:
    """Frame every event, and every heartbeat as a ping comment."""
    async with aclosing(items):
        async for item in items:
            yield encode(item) if isinstance(item, ChatEvent) else PING
