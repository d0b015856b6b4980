"""``GET /healthz``: readiness, which for rag means its knowledge base has been synced."""

from fastapi import APIRouter, Request

from rag.deps import get_index, get_sync
from rag.errors import ApiError
from rag.schemas import ErrorResponse, HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthResponse,
    responses={503: {"model": ErrorResponse, "description": "The first sync has not finished."}},
)
async def read_health(request: Request) -> HealthResponse:
    """Report ready once the first knowledge-base sync from core has finished."""
    # Read from the app's state, not as dependencies: FastAPI solving the two of them took about
    # 40 % of a probe's time in process, and a probe is the request a service should answer at
    # the least cost.
    sync = await get_sync(request)
    if sync is None or not sync.ready:
        raise ApiError(503, "not_ready", "The knowledge base has not been synced from core yet.")
    return HealthResponse(status="ok", articles=len(await get_index(request)))
