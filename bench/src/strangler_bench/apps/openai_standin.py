"""A model server outside the project: an OpenAI-compatible stand-in as a process of its own.

It streams chat completions in the real protocol (the events rag.bench's model server sends)
after the first-token delay in its path: ``http://host:port/after/1.0/v1`` is a model that takes
1 s to start answering. Run as ``uvicorn strangler_bench.apps.openai_standin:app``; ``GET
/healthz`` says it is up.

A real provider's CPU is not on the benchmark's machine, so the stand-in's should be as small as
the protocol allows: it is a bare ASGI app, and each event is sent as its own body chunk, as a
provider streams each token (the bytes and their timing on the wire are those of rag.bench's
model server). Served by that model server's Starlette app (routing, a request object, a task per
stream watching for the client), it took 1.0-1.2 ms of CPU per answer at 500 concurrent, on a
day the machine ran at a third of its usual speed, where rag took 2.2-2.6 ms: over a quarter of the
CPU the run used. As a bare app: 0.45-0.47 ms.
"""

import asyncio
import functools
import re
import time

from rag.bench.model_server import TOKENS, chunk, event
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from strangler_bench.apps import serve_lifespan

_PATH = re.compile(r"(?:/after/(?P<seconds>\d+(?:\.\d+)?))?/v1/chat/completions")
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve ``GET /healthz`` and ``POST [/after/{seconds}]/v1/chat/completions``."""
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    path, method = scope["path"], scope["method"]
    if path == "/healthz" and method == "GET":
        await JSONResponse({"status": "ok"})(scope, receive, send)
        return
    match = _PATH.fullmatch(path)
    if match is None or method != "POST":
        await _error(404, "not found", scope, receive, send)
        return
    try:
        model = str((await Request(scope, receive).json())["model"])
    except (ValueError, KeyError, TypeError):
        await _error(400, "bad request", scope, receive, send)
        return
    await send({"type": "http.response.start", "status": 200, "headers": _SSE})
    await asyncio.sleep(float(match["seconds"] or 0.0))
    for data in _events(model, int(time.time())):
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


@functools.lru_cache(maxsize=16)
def _events(model: str, created: int) -> tuple[bytes, ...]:
    """Return one event per token, then the final chunk: the same bytes for a second's answers."""
    chunks = [chunk(model, {"content": token}, created=created) for token in TOKENS]
    chunks.append(chunk(model, {}, finish_reason="stop", created=created))
    return tuple(event(c).encode() for c in chunks)


async def _error(status: int, message: str, scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse({"error": {"message": message}}, status_code=status)(scope, receive, send)
