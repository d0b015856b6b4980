"""The chat answer as Server-Sent Events, in the same event format as rag's stream.

``sources``, then one ``token`` per piece the provider writes, then ``done`` with the whole
answer, or ``error`` (``{"code", "message"}``) when the provider fails. The view streams the
events as the provider produces them, on a worker thread it holds until the answer is complete
(WSGI has no other way to wait): a few slow answers exhaust the workers, which is what moving the
route to rag's event loop fixes. When the client goes away, the server's next write fails, it
closes the response, and closing the events closes the provider's call.
"""

import logging
from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse
from strangler_shared import EVENT_STREAM, STREAM_HEADERS, sse_event, wants_event_stream

from core.knowledge.providers import AnswerStream, ProviderError

logger = logging.getLogger(__name__)

BROKEN = "The answer could not be completed."


def asks_for_event_stream(request: HttpRequest) -> bool:
    """Tell whether the request's Accept header asks for an event stream."""
    return wants_event_stream(request.headers.get("Accept"))


def error_event(error: ProviderError) -> bytes:
    """Return the ``error`` event that ends a failed answer."""
    return sse_event("error", {"code": error.code, "message": str(error)})


def answer_events(stream: AnswerStream) -> Iterator[bytes]:
    """Yield the SSE events of an answer as its provider writes it."""
    yield sse_event("sources", [source.as_dict() for source in stream.sources])
    parts: list[str] = []
    try:
        for chunk in stream.chunks:
            parts.append(chunk)
            yield sse_event("token", {"text": chunk})
    except ProviderError as exc:
        logger.warning("the chat provider failed mid-answer: %s", exc)
        yield error_event(exc)
        return
    except Exception:
        logger.exception("the chat answer broke")
        yield sse_event("error", {"code": "internal_error", "message": BROKEN})
        return
    finally:
        stream.close()
    yield sse_event("done", {"answer": "".join(parts)})


def _response(events: Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type=EVENT_STREAM)
    for name, value in STREAM_HEADERS.items():
        response[name] = value
    return response


def event_stream_response(stream: AnswerStream) -> StreamingHttpResponse:
    """Return the answer as an event stream, written as the provider produces it."""
    return _response(answer_events(stream))


def failed_event_stream_response(error: ProviderError) -> StreamingHttpResponse:
    """Return the stream of an answer that failed before its sources were known."""
    return _response(iter([error_event(error)]))
