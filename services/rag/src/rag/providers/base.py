"""The interface every answer provider implements, and the errors it may raise.

A provider yields the answer as an async stream of text chunks. The JSON endpoint joins them;
a streaming endpoint (SSE, WebSocket, gRPC) forwards each chunk as it comes and stops pulling
when the client goes away, without any provider changing. Stopping is cancellation: the task
pulling the stream is cancelled, and a provider holding a connection (an HTTP request to a
model server) closes it on the way out.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from strangler_shared import ProviderError, ProviderTimeoutError

from rag.retrieval.articles import Article

# The errors are the chat contract's: their codes end a failed stream on either side.
__all__ = ["AnswerProvider", "Passage", "ProviderError", "ProviderTimeoutError"]


@dataclass(frozen=True, slots=True)
class Passage:
    """An article given to a provider, with the citation number the answer refers to it by."""

    number: int
    article: Article


class AnswerProvider(Protocol):
    """Compose an answer to a question from passages, as a stream of text chunks."""

    name: str

    def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        """Yield the answer's text, chunk by chunk; concatenated, the chunks are the answer."""
        ...
