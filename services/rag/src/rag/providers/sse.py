"""Reading a Server-Sent Events stream: the wire format OpenAI-compatible servers stream in.

Only what chat-completion streams use: ``data:`` fields (joined with newlines when an event has
several), comments (lines starting with ``:``) ignored, a blank line ends an event.
"""

from collections.abc import AsyncIterable, AsyncIterator


async def sse_data(lines: AsyncIterable[str]) -> AsyncIterator[str]:
    """Yield the data of each event of an SSE stream, given its lines."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
