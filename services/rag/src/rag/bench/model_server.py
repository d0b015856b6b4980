"""A local OpenAI-compatible chat-completions server that speaks the real streaming protocol.

``POST /v1/chat/completions`` with ``"stream": true`` answers ``text/event-stream``: one
``data: {json chunk}`` event per token (``choices[0].delta.content``, as OpenAI, vLLM and Ollama
send them), a final chunk with ``finish_reason``, then ``data: [DONE]``. Its ``behaviour`` makes
it fail the ways real servers do, and it records what it was asked and whether its client hung up
mid-stream (which is how tests see that rag cancelled the provider's request).

``POST /after/{seconds}/v1/chat/completions`` answers the same after a first-token delay of
``seconds``: a base URL of ``.../after/2.5/v1`` makes a model server that takes 2.5 s to start
answering, which is how the outbound-client benchmark reproduces the 1-4 s workload.

It lives with the benchmark, which ships in rag's wheel and runs it; rag's tests reach it through
the dev-only toolkit (``strangler_testing.rag``), as a double of a provider outside the project.
"""

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Behaviour = Literal["ok", "http_error", "error_chunk", "cut", "hold"]
TOKENS = ("Reset ", "your ", "password. ", "[1]")
"""What the fake answers unless told otherwise."""


@dataclass
class FakeChatCompletions:
    """What the fake answers (``tokens``, ``behaviour``) and what it saw.

    Behaviours: ``ok`` streams every token then [DONE]; ``http_error`` answers 500 with an
    OpenAI-style error body; ``error_chunk`` streams the first token, then an ``error`` chunk;
    ``cut`` streams the first token, then ends without [DONE]; ``hold`` streams the first token,
    then waits until the client goes away.
    """

    tokens: list[str] = field(default_factory=lambda: list(TOKENS))
    behaviour: Behaviour = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    # The W3C trace context each request carried ("" for none): the caller's trace continues.
    traceparents: list[str] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)
    client_gone: threading.Event = field(default_factory=threading.Event)

    def app(self) -> Starlette:
        """Return the ASGI app serving this fake."""
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._complete, methods=["POST"]),
                Route(
                    "/after/{seconds:float}/v1/chat/completions", self._complete, methods=["POST"]
                ),
            ]
        )

    def wait_client_gone(self, seconds: float) -> bool:
        """Wait until a client hung up mid-stream; tell whether one did."""
        return self.client_gone.wait(seconds)

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("authorization", ""))
        self.traceparents.append(request.headers.get("traceparent", ""))
        if request.client is not None:
            self.peers.append((request.client.host, request.client.port))
        if self.behaviour == "http_error":
            error = {"message": "The server had an error", "type": "server_error"}
            return JSONResponse({"error": error}, status_code=500)
        delay = float(request.path_params.get("seconds", 0.0))
        return StreamingResponse(self._events(body["model"], delay), media_type="text/event-stream")

    async def _events(self, model: str, delay: float) -> AsyncIterator[str]:
        try:
            await asyncio.sleep(delay)
            for number, token in enumerate(self.tokens):
                yield event(chunk(model, {"content": token}))
                if number == 0 and self.behaviour != "ok":
                    async for failure in self._after_first_token():
                        yield failure
                    return
            yield event(chunk(model, {}, finish_reason="stop"))
            yield "data: [DONE]\n\n"
        except asyncio.CancelledError:
            # The server cancels the response when its client disconnects.
            self.client_gone.set()
            raise

    async def _after_first_token(self) -> AsyncIterator[str]:
        if self.behaviour == "error_chunk":
            yield event({"error": {"message": "model overloaded", "type": "server_error"}})
        elif self.behaviour == "hold":
            await asyncio.Event().wait()


def chunk(
    model: str,
    delta: dict[str, str],
    finish_reason: str | None = None,
    *,
    created: int | None = None,
) -> dict[str, Any]:
    """Return one ``chat.completion.chunk`` (``created`` defaults to now, in seconds)."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def event(data: dict[str, Any]) -> str:
    """Return ``data`` as one server-sent event."""
    return f"data: {json.dumps(data)}\n\n"
