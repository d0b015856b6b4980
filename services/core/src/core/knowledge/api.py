"""Legacy public API of the knowledge base: search, chat and related articles."""

from typing import Annotated, Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Field, Path, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints
from strangler_shared import AsciiInteger, WholeNumber

from core.config.errors import error_response
from core.config.schemas import ErrorOut
from core.knowledge import rag_client
from core.knowledge.chat import collect_answer, error_status, open_answer
from core.knowledge.providers import ProviderError
from core.knowledge.related import ArticleNotFoundError, find_article, related_articles
from core.knowledge.services import search_articles
from core.knowledge.streaming import (
    asks_for_event_stream,
    event_stream_response,
    failed_event_stream_response,
)

router = Router(tags=["knowledge"])

# k as both sides of every route read it: ASCII digits, 1..50.
KQuery = Annotated[int, Query(ge=1, le=50), AsciiInteger]
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
    k: Annotated[int, Field(strict=True, ge=1, le=50), WholeNumber] = 4


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
def search(request: HttpRequest, q: Query[SearchText], k: KQuery = 5) -> Any:
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


def _error_doc(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorOut"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_CHAT_STREAM_DOC = (
    "The answer as JSON, or with Accept: text/event-stream as SSE events: sources, then token "
    "events as the provider writes them, then done (or error: code and message)."
)


@router.post(
    "/chat",
    response={
        200: ChatOut,
        400: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        422: ErrorOut,
        500: ErrorOut,
        502: ErrorOut,
        504: ErrorOut,
    },
    # Integer keys, as Ninja's own: a string "502" would sit beside 502 as a second key.
    openapi_extra={
        "responses": {
            200: {
                "description": _CHAT_STREAM_DOC,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChatOut"}},
                    "text/event-stream": {"schema": {"type": "string"}},
                },
            },
            400: _error_doc("The body is not a JSON object (invalid_json)."),
            413: _error_doc("The body is over the upload limit (payload_too_large)."),
            415: _error_doc("The body is not JSON (unsupported_media_type)."),
            502: _error_doc("The provider failed (provider_error; JSON answers only)."),
            504: _error_doc("The provider timed out (provider_timeout; JSON answers only)."),
        }
    },
)
def chat(request: HttpRequest, payload: ChatIn) -> Any:
    """Answer a question from the knowledge base's most relevant articles, with citations."""
    streamed = asks_for_event_stream(request)
    try:
        stream = open_answer(payload.question, payload.k)
        if streamed:
            return event_stream_response(stream)
        answer = collect_answer(stream)
    except ProviderError as exc:
        return _failed_answer(exc, streamed)
    return {"answer": answer, "sources": [source.as_dict() for source in stream.sources]}


def _failed_answer(error: ProviderError, streamed: bool) -> HttpResponseBase:
    if streamed:
        return failed_event_stream_response(error)
    return error_response(error_status(error), error.code, str(error))


class ArticleRef(Schema):
    """An article, as related results name it."""

    id: int
    slug: str
    title: str


class RelatedOut(Schema):
    """Articles on the same subject as ``article``, best first (never the article itself)."""

    article: ArticleRef
    k: int
    results: list[SearchResult]


# Unreachable or too slow is the rag service's state, not a fault of this request.
_RAG_STATUS = {rag_client.UNAVAILABLE: 503, rag_client.TIMEOUT: 503}


@router.get(
    "/articles/{reference}/related",
    response={200: RelatedOut, 404: ErrorOut, 422: ErrorOut, 502: ErrorOut, 503: ErrorOut},
    openapi_extra={
        "responses": {
            502: _error_doc("rag answered with an error (upstream_error)."),
            503: _error_doc(
                "rag is unreachable (upstream_unavailable) or did not answer within "
                "CORE_RAG_GRPC_TIMEOUT_SECONDS (upstream_timeout)."
            ),
        }
    },
)
def read_related_articles(
    request: HttpRequest,
    reference: Annotated[str, Path(description="The article's id (digits) or its slug.")],
    k: KQuery = 5,
) -> Any:
    """Return the articles most related to one article, ranked by the rag service's search."""
    try:
        article = find_article(reference)
        hits = related_articles(article, k)
    except ArticleNotFoundError as exc:
        return error_response(404, "not_found", str(exc))
    except rag_client.RagError as exc:
        return error_response(_RAG_STATUS.get(exc.code, 502), exc.code, exc.message)
    results = [
        {"id": h.id, "slug": h.slug, "title": h.title, "snippet": h.snippet, "score": h.score}
        for h in hits
    ]
    reference_out = {"id": article.pk, "slug": article.slug, "title": article.title}
    return {"article": reference_out, "k": k, "results": results}
