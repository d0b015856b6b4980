"""The ``X-Service`` header on every response, so a caller behind the gateway sees who answered."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServiceHeaderMiddleware:
    """Add ``X-Service: <name>`` to every HTTP response (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Service"] = self.service
            await send(message)

        await self.app(scope, receive, send_with_header)
