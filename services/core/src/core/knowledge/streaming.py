"""The chat answer as Server-Sent Events, in the same event format as rag's stream.

The monolith computes the whole answer first (a blocking call inside a synchronous view) and only
then writes the events: ``sources``, one ``token`` per cited sentence, ``done``. Clients that read
rag's stream read this one unchanged; they just wait for everything at once. That wait is what
moving the route to rag removes.
"""

import json
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse

from core.knowledge.services import Answer

MEDIA_TYPE = "text/event-stream"


def wants_event_stream(request: HttpRequest) -> bool:
    """Tell whether the request's Accept header asks for an event stream."""
    return MEDIA_TYPE in request.headers.get("Accept", "").lower()


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def answer_events(answer: Answer) -> Iterator[str]:
    """Yield the SSE events of a finished answer."""
    sources = [{"id": a.pk, "slug": a.slug, "title": a.title} for a in answer.sources]
    yield _event("sources", sources)
    for number, sentence in enumerate(answer.sentences):
        yield _event("token", {"text": sentence if number == 0 else f" {sentence}"})
    yield _event("done", {"answer": answer.text})


def event_stream_response(answer: Answer) -> HttpResponse:
    """Return the whole answer as one buffered ``text/event-stream`` response."""
    response = HttpResponse("".join(answer_events(answer)), content_type=MEDIA_TYPE)
    response["Cache-Control"] = "no-cache"
    return response
