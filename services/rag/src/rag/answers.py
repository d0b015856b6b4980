"""Question answering: retrieve the top-k articles, then let a provider compose the answer.

Split in two steps so a streaming endpoint can send the sources first and then forward the
provider's chunks as they come, while the JSON endpoint just collects them.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace

from rag.config import Settings
from rag.providers import AnswerProvider, Passage
from rag.retrieval.index import ArticleIndex
from rag.streaming.events import ChatEvent, StreamItem
from rag.streaming.pipeline import Pace, answer_events
from rag.streaming.tracing import stream_attributes, traced_stream

# How a failed answer maps onto an HTTP status when the client asked for JSON.
ERROR_STATUS = {"provider_error": 502, "provider_timeout": 504}


class AnswerFailedError(Exception):
    """The provider could not complete the answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = ERROR_STATUS.get(code, 500)


async def retrieve_passages(index: ArticleIndex, question: str, k: int) -> list[Passage]:
    """Return the best ``k`` articles for a question, numbered for citation from 1."""
    hits = await index.search_async(question, k, snippets=False)
    return [Passage(number, hit.article, hit.score) for number, hit in enumerate(hits, start=1)]


def traced_answer(
    tracer: trace.Tracer,
    transport: str,
    provider: AnswerProvider,
    question: str,
    passages: Sequence[Passage],
    settings: Settings,
    k: int,
    *,
    heartbeats: bool = False,
    pace: Pace | None = None,
) -> AsyncGenerator[StreamItem, None]:
    """Return the answer's event stream, under a stream span that is a child of the current one.

    Call it from the handler, while the request's span is current: the stream itself runs
    later (a streaming response's body is sent after the handler returned).
    """
    return traced_stream(
        tracer,
        otel_context.get_current(),
        stream_attributes(transport, provider.name, k),
        lambda span: answer_events(
            provider,
            question,
            passages,
            timeout=settings.provider_timeout_seconds,
            heartbeat=settings.heartbeat_seconds if heartbeats else None,
            span=span,
            pace=pace,
        ),
    )


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
