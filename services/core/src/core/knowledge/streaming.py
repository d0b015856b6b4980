"""The chat answer as Server-Sent Events, in the same event format as rag's stream.

``sources``, then one ``token`` per piece the provider writes, then ``done`` with the whole
answer, or ``error`` (``{"code", "message"}``) when the provider fails. The view streams the
events as the provider produces them, on a worker thread it holds until the answer is complete
(WSGI has no other way to wait): a few slow answers exhaust the workers, which is what moving the
route to rag's event loop fixes. When the client goes away, the server's next write fails, it
closes the response, and closing the events closes the provider's call.
"""

import json
import logging
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

from core.knowledge.providers import AnswerStream, ProviderError

logger = logging.getLogger(__name__)

MEDIA_TYPE = "text/event-stream"
BROKEN = "The answer could not be completed."


def wants_event_stream(request: HttpRequest) -> bool:
    """Tell whether the request's Accept header asks for an event stream."""
    return MEDIA_TYPE in request.headers.get("Accept", "").lower()


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def error_event(error: ProviderError) -> str:
    """Return the ``error`` event that ends a failed answer."""
    return _event("error", {"code": error.code, "message": str(error)})


def answer_events(stream: AnswerStream) -> Iterator[str]:
    """Yield the SSE events of an answer as its provider writes it."""
    yield _event("sources", [source.as_dict() for source in stream.sources])
    parts: list[str] = []
    try:
        for chunk in stream.chunks:
            parts.append(chunk)
            yield _event("token", {"text": chunk})
    except ProviderError as exc:
        logger.warning("the chat provider failed mid-answer: %s", exc)
        yield error_event(exc)
        return
    except Exception:
        logger.exception("the chat answer broke")
        yield _event("error", {"code": "internal_error", "message": BROKEN})
        return
    finally:
        stream.close()
    yield _event("done", {"answer": "".join(parts)})


def _response(events: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type=MEDIA_TYPE)
    # No cache may store a stream, and nginx must pass it through unbuffered.
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def event_stream_response(stream: AnswerStream) -> StreamingHttpResponse:
    """Return the answer as an event stream, written as the provider produces it."""
    return _response(answer_events(stream))


def failed_event_stream_response(error: ProviderError) -> StreamingHttpResponse:
    """Return the stream of an answer that failed before its sources were known."""
    return _response(iter([error_event(error)]))
