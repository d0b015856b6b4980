"""Legacy public API of the knowledge base: search and chat, as the monolith serves them."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints

from core.config.schemas import ErrorOut
from core.knowledge.services import answer_question, search_articles
from core.knowledge.streaming import event_stream_response, wants_event_stream

router = Router(tags=["knowledge"])

SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SearchResult(Schema):
    """One matching article: where the query matched and how well."""

    id: int
    slug: str
    title: str
    snippet: str
    score: float


class SearchOut(Schema):
    """Search results, best first."""

    query: str
    k: int
    results: list[SearchResult]


class ChatIn(Schema):
    """A question about the product, and how many articles the answer may draw on."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[
        str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=2000)
    ]
    k: Annotated[int, Field(strict=True, ge=1, le=50)] = 4


class Source(Schema):
    """An article an answer cites."""

    id: int
    slug: str
    title: str


class ChatOut(Schema):
    """An answer whose [n] markers point into ``sources`` (1-based)."""

    answer: str
    sources: list[Source]


@router.get("/search", response={200: SearchOut, 422: ErrorOut})
def search(
    request: HttpRequest, q: Query[SearchText], k: Annotated[int, Query(ge=1, le=50)] = 5
) -> Any:
    """Search the knowledge base; results match at least one query term, best score first."""
    hits = search_articles(q, k)
    results = [
        {
            "id": hit.article.pk,
            "slug": hit.article.slug,
            "title": hit.article.title,
            "snippet": hit.snippet,
            "score": hit.score,
        }
        for hit in hits
    ]
    return {"query": q, "k": k, "results": results}


@router.post(
    "/chat",
    response={200: ChatOut, 400: ErrorOut, 422: ErrorOut},
    openapi_extra={
        "responses": {
            "200": {
                "description": "The answer as JSON, or with Accept: text/event-stream as SSE "
                "events (sources, token..., done), sent once the whole answer is ready.",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChatOut"}},
                    "text/event-stream": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def chat(request: HttpRequest, payload: ChatIn) -> Any:
    """Answer a question from the knowledge base's most relevant sentences, with citations."""
    answer = answer_question(payload.question, payload.k)
    if wants_event_stream(request):
        return event_stream_response(answer)
    sources = [
        {"id": article.pk, "slug": article.slug, "title": article.title}
        for article in answer.sources
    ]
    return {"answer": answer.text, "sources": sources}
