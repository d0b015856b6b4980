"""``GET /api/me``: the signed-in user, as the gateway vouched for them.

rag has no login of its own: the monolith keeps sessions, and the gateway passes the user it
checked with core in a signed ``X-Identity``. This route answers who that is, so a client (the
migration console, a tester) can see what identity reaches the services behind the facade; it
is the simplest route that needs a user, and a call around the gateway gets 401.
"""

from fastapi import APIRouter

from rag.deps import CurrentUserDep
from rag.schemas import CurrentUser, ErrorResponse

router = APIRouter(tags=["identity"])


@router.get(
    "/api/me",
    response_model=CurrentUser,
    responses={401: {"model": ErrorResponse, "description": "No user, or an untrusted identity."}},
)
async def read_current_user(user: CurrentUserDep) -> CurrentUser:
    """Return the signed-in user the gateway passed on."""
    return CurrentUser(user_id=user.user_id, staff=user.staff)
