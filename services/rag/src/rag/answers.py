"""Question answering: retrieve the top-k articles, then let a provider compose the answer.

Split in two steps so a streaming endpoint can send the sources first and then forward the
provider's chunks as they come, while the JSON endpoint just collects them.
"""

from collections.abc import AsyncIterator

from rag.providers import AnswerProvider, Passage
from rag.retrieval.index import ArticleIndex
from rag.streaming.events import ChatEvent, StreamItem

# How a failed answer maps onto an HTTP status when the client asked for JSON.
ERROR_STATUS = {"provider_error": 502, "provider_timeout": 504}


class AnswerFailedError(Exception):
    """The provider could not complete the answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = ERROR_STATUS.get(code, 500)


def retrieve_passages(index: ArticleIndex, question: str, k: int) -> list[Passage]:
    """Return the best ``k`` articles for a question, numbered for citation from 1."""
    hits = index.search(question, k)
    return [Passage(number, hit.article) for number, hit in enumerate(hits, start=1)]


async def retrieve_passages_async(index: ArticleIndex, question: str, k: int) -> list[Passage]:
    """Like :func:`retrieve_passages`, off the event loop when the retriever runs a model."""
    hits = await index.search_async(question, k)
    return [Passage(number, hit.article) for number, hit in enumerate(hits, start=1)]


async def compose_answer(provider: AnswerProvider, question: str, passages: list[Passage]) -> str:
    """Collect the provider's whole answer."""
    return "".join([chunk async for chunk in provider.stream_answer(question, passages)])


async def collect_answer(items: AsyncIterator[StreamItem]) -> str:
    """Return the answer of a finished stream, or raise AnswerFailedError for its error."""
    async for item in items:
        if not isinstance(item, ChatEvent):
            continue
        if item.name == "error":
            raise AnswerFailedError(item.data["code"], item.data["message"])
        if item.name == "done":
            answer: str = item.data["answer"]
            return answer
    raise AnswerFailedError("internal_error", "The answer stream ended without an answer.")
