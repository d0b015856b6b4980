"""Calling the legacy chat from a test: one question, JSON or SSE, and the SSE frames parsed."""

import json
from typing import Any

from django.http import StreamingHttpResponse
from django.test import Client

QUESTION = {"question": "Why was my card declined?", "k": 2}


def post_chat(client: Client, accept: str = "application/json") -> Any:
    """POST the test question to /api/chat, asking for ``accept``."""
    return client.post(
        "/api/chat", data=json.dumps(QUESTION), content_type="application/json", HTTP_ACCEPT=accept
    )


def sse_events(response: StreamingHttpResponse) -> list[tuple[str, Any]]:
    """Read a streamed answer to its end and return its (event, data) frames."""
    try:
        text = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    finally:
        response.close()
    frames = [frame.split("\n") for frame in text.split("\n\n") if frame]
    return [(name[len("event: ") :], json.loads(data[len("data: ") :])) for name, data in frames]
