"""``GET /healthz``: readiness, which for rag means its knowledge base has been synced."""

from fastapi import APIRouter

from rag.deps import IndexDep, SyncDep
from rag.errors import ApiError
from rag.schemas import ErrorResponse, HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthResponse,
    responses={503: {"model": ErrorResponse, "description": "The first sync has not finished."}},
)
async def read_health(sync: SyncDep, index: IndexDep) -> HealthResponse:
    """Report ready once the first knowledge-base sync from core has finished."""
    if sync is None or not sync.ready:
        raise ApiError(503, "not_ready", "The knowledge base has not been synced from core yet.")
    return HealthResponse(status="ok", articles=len(index))
