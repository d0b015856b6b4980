"""``POST /api/chat``: an answer composed from the knowledge base, as JSON or as an SSE stream.

The same request answers JSON ``{answer, sources}`` by default and streams Server-Sent Events
(``sources``, ``token``..., ``done`` or ``error``) with ``Accept: text/event-stream``.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from strangler_shared import EVENT_STREAM, STREAM_HEADERS, wants_event_stream

from rag.answers import AnswerFailedError, collect_answer, retrieve_passages, traced_answer
from rag.deps import NOT_READY_RESPONSE, AnsweringDep
from rag.errors import ApiError
from rag.schemas import ChatRequest, ChatResponse, ErrorResponse, Source
from rag.streaming.pipeline import answer_events
from rag.streaming.sse import sse_body

router = APIRouter(tags=["chat"])

_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer, as JSON or (Accept: text/event-stream) as SSE events.",
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    },
    400: {"model": ErrorResponse, "description": "The body is not a JSON object."},
    415: {"model": ErrorResponse, "description": "The body is not JSON."},
    413: {"model": ErrorResponse, "description": "The body is over RAG_MAX_BODY_BYTES."},
    422: {"model": ErrorResponse, "description": "Invalid, missing or unknown fields."},
    500: {"model": ErrorResponse, "description": "Injected fault or unexpected failure."},
    502: {"model": ErrorResponse, "description": "The provider failed (JSON answers only)."},
    503: NOT_READY_RESPONSE,
    504: {"model": ErrorResponse, "description": "The provider timed out (JSON answers only)."},
}


@router.post("/api/chat", response_model=ChatResponse, responses=_STREAM_DOC)
async def create_answer(
    body: ChatRequest,
    answering: AnsweringDep,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """Answer a question with cited sentences from the most relevant articles."""
    settings, provider = answering.settings, answering.provider
    k = body.k_or(settings.chat_default_k)
    passages = await retrieve_passages(answering.index, body.question, k)
    if wants_event_stream(accept):
        events = traced_answer(
            answering.tracer,
            "sse",
            provider,
            body.question,
            passages,
            settings,
            k,
            heartbeats=True,
            pace=answering.faults.pace_token,
        )
        return StreamingResponse(sse_body(events), media_type=EVENT_STREAM, headers=STREAM_HEADERS)
    events = answer_events(
        provider,
        body.question,
        passages,
        timeout=settings.provider_timeout_seconds,
        span=trace.get_current_span(),
        pace=answering.faults.pace_token,
    )
    try:
        answer = await collect_answer(events)
    except AnswerFailedError as error:
        raise ApiError(error.status_code, error.code, error.message) from error
    sources = [Source.from_article(passage.article) for passage in passages]
    return ChatResponse(answer=answer, sources=sources)
