"""A trace backend outside the project: an OTLP/HTTP receiver that keeps nothing, as a process.

In production a service's spans leave its machine for a collector or a backend; on this machine
the stack's trace store takes them in on the same cores as the services. A twin exporting here
reads what tracing costs the service itself, exporting included, without the store beside it.
It answers ``POST /v1/traces`` as a collector does when it accepts a whole batch: 200 with an
empty ``ExportTraceServiceResponse`` (no bytes, in protobuf); it counts what arrived and drops it.
Run as ``uvicorn strangler_bench.apps.otlp_sink:app``; ``GET /healthz`` says it is up and ``GET
/received`` how many exports and bytes it took.
"""

import json

from starlette.types import Message, Receive, Scope, Send

from strangler_bench.apps import serve_lifespan

_PROTOBUF = [(b"content-type", b"application/x-protobuf"), (b"content-length", b"0")]
_JSON = [(b"content-type", b"application/json")]
received = {"exports": 0, "bytes": 0}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve ``POST /v1/traces``, ``GET /healthz`` and ``GET /received``."""
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    path, method = scope["path"], scope["method"]
    if path == "/v1/traces" and method == "POST":
        received["bytes"] += await _drain(receive)
        received["exports"] += 1
        await _answer(send, 200, _PROTOBUF, b"")
    elif path == "/healthz" and method == "GET":
        await _answer(send, 200, _JSON, b'{"status":"ok"}')
    elif path == "/received" and method == "GET":
        await _answer(send, 200, _JSON, json.dumps(received).encode())
    else:
        await _answer(send, 404, _JSON, b'{"error":{"code":"not_found","message":"no such path"}}')


async def _drain(receive: Receive) -> int:
    size, more = 0, True
    while more:
        message: Message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    return size


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
