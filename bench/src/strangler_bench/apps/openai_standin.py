"""A model server outside the project: the OpenAI-compatible stand-in as a process of its own.

It streams chat completions in the real protocol (rag.bench's model server) after the
first-token delay in its path: ``http://host:port/after/1.0/v1`` is a model that takes 1 s to
start answering. Run as ``uvicorn strangler_bench.apps.openai_standin:app``; ``GET /healthz``
says it is up.
"""

from rag.bench.model_server import FakeChatCompletions
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route


class _Forgetful(FakeChatCompletions):
    """The fake without its record of requests, which would grow for the whole load."""

    def __post_init__(self) -> None:
        self.requests = _Discard()
        self.authorizations = _Discard()
        self.traceparents = _Discard()


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        """Keep nothing."""


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/healthz", _healthz), Mount("/", app=_Forgetful().app())])
