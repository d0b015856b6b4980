"""The legacy chat: open an answer with the configured provider, and collect it for JSON.

A synchronous view calls these and blocks its worker thread for as long as the provider takes:
the cost the migration to rag removes.
"""

from core.knowledge.providers import AnswerStream, ProviderError, get_provider
from core.knowledge.tracecontext import in_current_context

# How a failed answer maps onto an HTTP status when the client asked for JSON (as in rag).
ERROR_STATUS = {"provider_error": 502, "provider_timeout": 504}


def error_status(error: ProviderError) -> int:
    """Return the HTTP status of a failed answer."""
    return ERROR_STATUS.get(error.code, 500)


def open_answer(question: str, k: int) -> AnswerStream:
    """Start answering: the sources are known, the text follows as the provider writes it.

    The text is produced under the trace context current now (the request's), even when the
    WSGI server pulls it after the view returned.
    """
    stream = get_provider().answer(question, k)
    return AnswerStream(sources=stream.sources, chunks=in_current_context(stream.chunks))


def collect_answer(stream: AnswerStream) -> str:
    """Return the whole text of an answer, waiting for it; raise ProviderError."""
    try:
        return "".join(stream.chunks)
    finally:
        stream.close()
