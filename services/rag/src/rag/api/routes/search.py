"""``GET /api/search``: BM25 search over the knowledge base (the route moved from core)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from rag.api.routes.params import KParam
from rag.config import MAX_QUERY_CHARS
from rag.deps import NOT_READY_RESPONSE, FaultsDep, IndexDep, SettingsDep, inject_faults
from rag.schemas import ErrorResponse, SearchResponse, SearchResult

router = APIRouter(tags=["search"], dependencies=[Depends(inject_faults)])

QueryParam = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS),
    Query(description=f"What to search for; 1..{MAX_QUERY_CHARS} characters once stripped."),
]


@router.get(
    "/api/search",
    response_model=SearchResponse,
    responses={
        422: {"model": ErrorResponse, "description": "Invalid q or k."},
        500: {"model": ErrorResponse, "description": "Injected fault or unexpected failure."},
        503: NOT_READY_RESPONSE,
    },
)
async def search_articles(
    q: QueryParam, index: IndexDep, settings: SettingsDep, faults: FaultsDep, k: KParam = None
) -> SearchResponse | JSONResponse:
    """Rank the knowledge base's articles for a query and return the best k."""
    limit = k or settings.search_default_k
    hits = await index.search_async(q, limit)
    answer = SearchResponse(query=q, k=limit, results=[SearchResult.from_hit(h) for h in hits])
    if not faults.flags.inject_field:
        return answer
    return JSONResponse(faults.decorate(answer.model_dump(mode="json")))
