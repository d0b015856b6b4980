"""The events of an answer stream, the same over SSE, WebSocket and gRPC.

In order: one ``sources`` (the cited articles), ``token`` events (the answer's text, piece by
piece), then exactly one of ``done`` (the whole answer) or ``error`` (code and message). A
:data:`HEARTBEAT` may come between them while the provider is silent; only SSE sends it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rag.providers import Passage

EventName = Literal["sources", "token", "done", "error"]


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One event of an answer stream: its name and its JSON data."""

    name: EventName
    data: Any


class Heartbeat:
    """Nothing new yet: the stream is alive and waiting for the provider."""


HEARTBEAT: Final = Heartbeat()
StreamItem = ChatEvent | Heartbeat


def sources_event(passages: Sequence[Passage]) -> ChatEvent:
    """Announce the articles the answer cites, ``[n]`` being the n-th."""
    data = [
        {"id": p.article.id, "slug": p.article.slug, "title": p.article.title} for p in passages
    ]
    return ChatEvent("sources", data)


def token_event(text: str) -> ChatEvent:
    """Carry the next piece of the answer."""
    return ChatEvent("token", {"text": text})


def done_event(answer: str) -> ChatEvent:
    """End the stream with the whole answer."""
    return ChatEvent("done", {"answer": answer})


def error_event(code: str, message: str) -> ChatEvent:
    """End the stream with what went wrong."""
    return ChatEvent("error", {"code": code, "message": message})
