"""``GET /internal/auth/session``: the gateway's question "who is this?", answered from the session.

The monolith keeps login (Django sessions); the services that take routes over do not. For a route
that needs a user, the gateway sends this view the client's cookies as an ``auth_request``
subrequest and forwards what it answers: a signed identity token (``strangler_shared.identity``)
the new services verify, and the user id and staff flag for its access log. Clients never reach
this path through the gateway (``/internal/`` is not found there).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from strangler_shared.identity import IDENTITY_HEADER, sign_identity

from core.config.errors import error_response


@require_GET
def read_session(request: HttpRequest) -> HttpResponse:
    """Answer 204 with the signed identity of the signed-in user, or 401 when nobody is."""
    secret: bytes = settings.IDENTITY_SECRET
    if not secret:
        return error_response(
            503, "identity_unconfigured", "STRANGLER_IDENTITY_SECRET is not set on core."
        )
    user = request.user
    if not user.is_authenticated:
        return error_response(401, "unauthenticated", "Sign in first.")
    user_id = str(user.pk)
    token = sign_identity(user_id, staff=user.is_staff, secret=secret,
                          ttl_seconds=settings.IDENTITY_TTL_SECONDS)  # fmt: skip
    response = HttpResponse(status=204)
    response[IDENTITY_HEADER] = token
    response["X-Auth-User"] = user_id
    response["X-Auth-Staff"] = "true" if user.is_staff else "false"
    return response
