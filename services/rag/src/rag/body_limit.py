"""The largest request body rag reads, enforced by rag itself.

The gateway caps bodies per route, but a call that goes around it (or a gateway misconfigured)
would otherwise have rag read any body into memory. A declared ``Content-Length`` over the limit
is refused before a byte is read; a body without one (chunked) is counted as it arrives and
refused at the first byte over. Both answers are 413 ``payload_too_large`` in the envelope, as
core answers.
"""

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import error_response

__all__ = ["BodyLimitMiddleware", "PayloadTooLargeError"]

_MESSAGE = "the request body is too large"


class PayloadTooLargeError(HTTPException):
    """The request body grew past the limit while it was being read."""

    # An HTTPException, because FastAPI re-raises only those from reading a body: anything else
    # becomes its 400 "error parsing the body".
    def __init__(self) -> None:
        super().__init__(413, _MESSAGE)


class BodyLimitMiddleware:
    """Refuse HTTP request bodies larger than ``max_bytes`` with a 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting ``receive``, or refuse it outright."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes:
            await error_response(413, "payload_too_large", _MESSAGE)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, self.max_bytes), send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            # A malformed length is the server's to refuse (400), not this limit's.
            return int(value) if value.isdigit() else 0
    return 0


def _counting(receive: Receive, max_bytes: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                # Raised where the app reads its body: the error handlers answer it.
                raise PayloadTooLargeError
        return message

    return counted
