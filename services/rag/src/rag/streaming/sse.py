"""Answer streams as Server-Sent Events (``POST /api/chat`` with ``Accept: text/event-stream``).

The framing, event names and heartbeat are the chat contract's, shared with the monolith's legacy
view (``strangler_shared``); this module only frames rag's async stream of events with it.
"""

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from strangler_shared import PING, sse_event

from rag.streaming.events import ChatEvent, StreamItem


async def sse_body(items: AsyncGenerator[StreamItem, None]) -> AsyncIterator[bytes]:
    """Frame every event, and every heartbeat as a ping comment."""
    async with aclosing(items):
        async for item in items:
            yield sse_event(item.name, item.data) if isinstance(item, ChatEvent) else PING
