"""Bare apps the services are measured against (each framework's hello-world, a Flask chat view,
bare Django relaying rag as core does), and stand-ins for what lies outside the project (a model
provider, a trace backend)."""

from starlette.types import Receive, Send


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Answer the server's lifespan messages: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
