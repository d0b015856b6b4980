"""The interface every answer provider implements.

A provider yields the answer as an async stream of text chunks. The JSON endpoint joins them;
a streaming endpoint (SSE, WebSocket) can forward each chunk as it comes and stop pulling when
the client goes away, without any provider changing.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from rag.retrieval.index import Article


@dataclass(frozen=True, slots=True)
class Passage:
    """An article given to a provider, with the citation number the answer refers to it by."""

    number: int
    article: Article


class AnswerProvider(Protocol):
    """Compose an answer to a question from passages, as a stream of text chunks."""

    def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        """Yield the answer's text, chunk by chunk; concatenated, the chunks are the answer."""
        ...
