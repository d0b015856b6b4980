"""Who is asking: the identity the gateway vouched for, and the CSRF token of their session.

The console trusts only the ``X-Identity`` header, and only once its signature verifies: nginx
sets it from core's ``auth_request`` answer on every request to ``/console/`` and replaces any
value a client sent, and a request that reaches the console some other way cannot sign one.

CSRF: the console is not a Django app, so Django's own CSRF check (which needs core's middleware
on the request) does not cover it. Each action form carries a token that is an HMAC, under the
identity secret, of the user's Django session cookie: a page on another site can make the
browser send that cookie but can neither read it (HttpOnly) nor the token on the console's page,
and the console needs no state of its own to check it (a signed double-submit token).
"""

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request
from strangler_shared.identity import IdentityError, verify_identity

__all__ = ["SESSION_COOKIE", "Visitor", "csrf_token", "csrf_valid", "visitor"]

SESSION_COOKIE = "sessionid"
IDENTITY_HEADER = "x-identity"
_CSRF_CONTEXT = b"strangler-console-csrf:"


@dataclass(frozen=True)
class Visitor:
    """The person behind a request: a verified user, or anonymous with the reason why."""

    user_id: str | None
    staff: bool
    reason: str

    @property
    def signed_in(self) -> bool:
        """Return whether the gateway vouched for a signed-in user."""
        return self.user_id is not None

    @property
    def actor(self) -> str:
        """Return how this person appears in the route change history."""
        return f"console:{self.user_id}"


def visitor(request: Request, secret: bytes) -> Visitor:
    """Return who the gateway says is asking (anonymous without a valid X-Identity)."""
    token = request.headers.get(IDENTITY_HEADER, "")
    if not token:
        return Visitor(None, False, "not signed in (sign in to the Django admin as a staff user)")
    if not secret:
        return Visitor(None, False, "the console has no identity secret to verify sign-ins")
    try:
        identity = verify_identity(token, secret=secret)
    except IdentityError as error:
        return Visitor(None, False, f"the gateway's identity did not verify ({error})")
    reason = "" if identity.staff else f"user {identity.user_id} is not a staff user"
    return Visitor(identity.user_id, identity.staff, reason)


def csrf_token(request: Request, secret: bytes) -> str:
    """Return the CSRF token of the request's session ("" without a session)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    if not session or not secret:
        return ""
    return hmac.new(secret, _CSRF_CONTEXT + session.encode(), hashlib.sha256).hexdigest()


def csrf_valid(request: Request, secret: bytes, sent: str) -> bool:
    """Return whether ``sent`` is the CSRF token of the request's session."""
    expected = csrf_token(request, secret)
    return bool(expected) and hmac.compare_digest(expected, sent)
