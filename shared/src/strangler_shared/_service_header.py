"""``X-Service`` on every response, so a caller behind the gateway sees which process answered.

The gateway's tests, the shadow comparator and people reading ``curl -i`` all rely on it, whichever
framework served the request: Django and Flask set it with their own hooks, ASGI apps with the
middleware below.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

SERVICE_HEADER = "X-Service"

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class ServiceHeaderMiddleware:
    """Add ``X-Service: <service>`` to every HTTP response (pure ASGI: nothing is buffered)."""

    def __init__(self, app: _ASGIApp, service: str) -> None:
        self.app = app
        self._header = (SERVICE_HEADER.lower().encode(), service.encode())

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: _Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self.app(scope, receive, send_with_header)
