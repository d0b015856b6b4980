"""``/internal``: what other services call (core delegating, the rollout switching faults)."""

from dataclasses import asdict

from fastapi import APIRouter, Depends

from rag.api.routes.params import CustomerIdParam, KParam
from rag.deps import CoreClientDep, FaultsDep, IndexDep, SettingsDep, require_service_token
from rag.faults import FaultFlags
from rag.schemas import ErrorResponse, FaultFlagsBody, SearchResult, SuggestionsResponse
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
        503: {
            "model": ErrorResponse,
            "description": "Core is not reachable, or the knowledge base not synced from it yet.",
        },
    },
)
async def read_customer_suggestions(
    customer_id: CustomerIdParam,
    core: CoreClientDep,
    index: IndexDep,
    settings: SettingsDep,
    k: KParam = None,
) -> SuggestionsResponse:
    """Suggest help articles for a customer from their plan and billing state."""
    customer = await core.get_customer(customer_id)
    query = suggestion_query(customer.plan, customer.billing.subscription_status)
    hits = await index.search_async(query, k or settings.suggestions_default_k)
    return SuggestionsResponse(
        customer_id=customer_id, query=query, results=[SearchResult.from_hit(h) for h in hits]
    )


@router.get("/faults", response_model=FaultFlagsBody)
async def read_faults(faults: FaultsDep) -> FaultFlagsBody:
    """Show the fault flags in force."""
    return FaultFlagsBody(**asdict(faults.flags))


@router.put(
    "/faults",
    response_model=FaultFlagsBody,
    responses={
        400: {"model": ErrorResponse, "description": "The body is not a JSON object."},
        415: {"model": ErrorResponse, "description": "The body is not JSON."},
        413: {"model": ErrorResponse, "description": "The body is over RAG_MAX_BODY_BYTES."},
        422: {"model": ErrorResponse, "description": "A flag out of range or unknown."},
    },
)
async def replace_faults(body: FaultFlagsBody, faults: FaultsDep) -> FaultFlagsBody:
    """Replace the fault flags (``{}`` switches every fault off)."""
    faults.flags = FaultFlags(**body.model_dump())
    return body
