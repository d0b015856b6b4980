"""Delegation as just another provider: rag retrieves and writes, core relays its events.

``CORE_CHAT_PROVIDER=rag`` sends the legacy chat's question to ``RagService.Answer`` (server
streaming) and relays the events into core's own contract: the first event's sources become
the answer's sources, tokens its text, and rag's ``error`` event (or a failed call) the provider
error it names. Closing the text generator cancels the call, which stops rag's generation.
"""

import logging
from collections.abc import Generator

from strangler_contracts.rag.v1 import rag_pb2

from core.knowledge import rag_client
from core.knowledge.providers.base import (
    AnswerStream,
    Chunks,
    ProviderError,
    ProviderInternalError,
    ProviderTimeoutError,
    Source,
)

logger = logging.getLogger(__name__)

Events = Generator[rag_pb2.AnswerEvent, None, None]
_ERRORS: dict[str, type[ProviderError]] = {
    "provider_timeout": ProviderTimeoutError,
    "internal_error": ProviderInternalError,
}


def relayed_error(code: str, message: str) -> ProviderError:
    """Return the provider error rag's ``error`` event names."""
    return _ERRORS.get(code, ProviderError)(message)


def _call_error(error: rag_client.RagError) -> ProviderError:
    if error.code == rag_client.TIMEOUT:
        return ProviderTimeoutError(error.message)
    return ProviderError(error.message)


def _next_event(events: Events) -> rag_pb2.AnswerEvent | None:
    try:
        return next(events)
    except StopIteration:
        return None
    except rag_client.RagError as exc:
        raise _call_error(exc) from exc


class RagProvider:
    """Answer through rag's RagService.Answer stream."""

    name = "rag"

    def answer(self, question: str, k: int) -> AnswerStream:
        """Start rag's answer and wait for its sources; raise ProviderError if none come."""
        events = rag_client.answer_events(question, k)
        try:
            first = _next_event(events)
            if first is None or first.WhichOneof("event") == "error":
                _read_to_the_end(events)
                raise _unexpected(first)
            if first.WhichOneof("event") != "sources":
                raise ProviderError("rag's answer did not start with its sources")
        except BaseException:
            events.close()
            raise
        sources = [
            Source(id=s.article_id, slug=s.slug, title=s.title) for s in first.sources.sources
        ]
        return AnswerStream(sources=sources, chunks=_texts(events))


def _unexpected(event: rag_pb2.AnswerEvent | None) -> ProviderError:
    if event is None:
        return ProviderError("rag's answer ended before it began")
    return relayed_error(event.error.code, event.error.message)


def _read_to_the_end(events: Events) -> None:
    # `done` and `error` are rag's last events: reading on lets the call complete with OK
    # rather than be cancelled by the close that follows (rag would record a cancelled stream).
    try:
        while _next_event(events) is not None:
            pass
    except ProviderError as exc:
        logger.warning("rag's answer call failed after its done event: %s", exc)


def _texts(events: Events) -> Chunks:
    try:
        while (event := _next_event(events)) is not None:
            kind = event.WhichOneof("event")
            if kind == "token":
                yield event.token.text
            elif kind == "done":
                _read_to_the_end(events)
                return
            elif kind == "error":
                _read_to_the_end(events)
                raise relayed_error(event.error.code, event.error.message)
        raise ProviderError("rag's answer ended without done")
    finally:
        events.close()
