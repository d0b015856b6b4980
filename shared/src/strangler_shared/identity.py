"""The user's identity as the gateway hands it to the services behind it.

Users sign in to the monolith (Django sessions); the services that take routes over must not
re-implement login. The gateway asks core who the user is (``auth_request``); core answers with a
short-lived token signed with a key only core and the services hold, and the gateway passes that
token upstream in ``X-Identity``, replacing whatever a client sent. A service trusts a user only
through :func:`verify_identity`, so a call that goes around the gateway carries no identity.

A token is ``v1.<user id, base64url>.<staff 0|1>.<expiry, unix seconds>.<HMAC-SHA256, base64url>``:
header-safe, readable in a log without a decoder, and bound to every field it carries.
"""

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Literal

from strangler_shared._secrets import is_strong_secret, load_identity_secret

__all__ = [
    "IDENTITY_HEADER",
    "Identity",
    "IdentityError",
    "load_identity_secret",
    "sign_identity",
    "verify_identity",
]

IDENTITY_HEADER = "X-Identity"
_VERSION = "v1"
# A user id of a few hundred bytes is plenty; anything longer is refused before any decoding.
_MAX_TOKEN_CHARS = 512
_B64 = r"[A-Za-z0-9_-]+"
_TOKEN = re.compile(
    rf"v1\.(?P<user>{_B64})\.(?P<staff>[01])\.(?P<exp>[0-9]{{1,12}})\.(?P<mac>{_B64})"
)

Reason = Literal["malformed", "bad_signature", "expired"]


@dataclass(frozen=True)
class Identity:
    """A signed-in user, as vouched for by core."""

    user_id: str
    staff: bool
    expires_at: int


class IdentityError(ValueError):
    """A token that cannot be trusted: ``reason`` says why (malformed, bad_signature, expired)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


def sign_identity(
    user_id: str,
    *,
    staff: bool,
    secret: bytes,
    ttl_seconds: int = 60,
    now: float | None = None,
) -> str:
    """Return a token saying ``user_id`` (staff or not) is signed in, valid for ``ttl_seconds``."""
    if not user_id:
        raise ValueError("an identity needs a user id")
    if not is_strong_secret(secret):
        raise ValueError("the identity secret must be at least 32 random characters")
    expires = int(time.time() if now is None else now) + ttl_seconds
    payload = f"{_VERSION}.{_encode(user_id.encode())}.{int(staff)}.{expires}"
    return f"{payload}.{_mac(payload, secret)}"


def verify_identity(token: str, *, secret: bytes, now: float | None = None) -> Identity:
    """Return the identity ``token`` carries; raise ``IdentityError`` if it cannot be trusted."""
    match = _TOKEN.fullmatch(token) if len(token) <= _MAX_TOKEN_CHARS else None
    if match is None:
        raise IdentityError("malformed", "the identity token is malformed")
    payload = token.rsplit(".", 1)[0]
    if not hmac.compare_digest(_mac(payload, secret), match["mac"]):
        raise IdentityError("bad_signature", "the identity token's signature does not match")
    expires = int(match["exp"])
    if expires <= (time.time() if now is None else now):
        raise IdentityError("expired", "the identity token has expired")
    return Identity(user_id=_decode_user(match["user"]), staff=match["staff"] == "1",
                    expires_at=expires)  # fmt: skip


def _mac(payload: str, secret: bytes) -> str:
    return _encode(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_user(text: str) -> str:
    # Only reached once the signature matched, so a failure here is a signer's bug, not an attack;
    # it is still refused as malformed rather than trusted half-read.
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise IdentityError("malformed", "the identity token's user id is unreadable") from error
