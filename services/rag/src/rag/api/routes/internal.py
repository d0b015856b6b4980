"""``/internal``: what core calls when it delegates to rag; service token required."""

from fastapi import APIRouter, Depends

from rag.api.routes.params import KParam
from rag.deps import CoreClientDep, IndexDep, SettingsDep, require_service_token
from rag.schemas import ErrorResponse, SearchResult, SuggestionsResponse
from rag.suggestions import suggestion_query

router = APIRouter(
    prefix="/internal",
    tags=["internal"],
    dependencies=[Depends(require_service_token)],
    responses={401: {"model": ErrorResponse, "description": "No valid service token."}},
)


@router.get(
    "/customers/{customer_id}/suggestions",
    response_model=SuggestionsResponse,
    responses={
        404: {"model": ErrorResponse, "description": "Core has no such customer."},
        422: {"model": ErrorResponse, "description": "Invalid k or customer id."},
        503: {"model": ErrorResponse, "description": "Core is not reachable."},
    },
)
async def read_customer_suggestions(
    customer_id: int,
    core: CoreClientDep,
    index: IndexDep,
    settings: SettingsDep,
    k: KParam = None,
) -> SuggestionsResponse:
    """Suggest help articles for a customer from their plan and billing state."""
    customer = await core.get_customer(customer_id)
    query = suggestion_query(customer.plan, customer.billing.subscription_status)
    hits = index.search(query, k or settings.suggestions_default_k)
    return SuggestionsResponse(
        customer_id=customer_id, query=query, results=[SearchResult.from_hit(h) for h in hits]
    )
