"""A local OpenAI-compatible chat-completions server that speaks the real streaming protocol.

``POST /v1/chat/completions`` with ``"stream": true`` answers ``text/event-stream`` in HTTP/1.1
chunked transfer encoding, as OpenAI, vLLM and Ollama do: one ``data: {json chunk}`` event per
token (``choices[0].delta.content``), a last chunk with ``finish_reason``, then ``data: [DONE]``.
Its ``behaviour`` makes it fail the ways real servers do. It records what it was asked, and
notices a client that hangs up mid-stream (the socket turns readable at end of file), which is
how tests see that core dropped the provider's request.

The standard library's HTTP server is enough for it: core serves no ASGI app, and the fake is
small enough to keep apart from rag's (services never import each other).
"""

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Behaviour = Literal["ok", "http_error", "error_chunk", "cut", "stall"]
STALL_LIMIT_SECONDS = 10.0


@dataclass
class FakeChatCompletions:
    """What the fake answers (``tokens``, ``behaviour``) and what it saw.

    Behaviours: ``ok`` streams every token then [DONE]; ``http_error`` answers 500 with an
    OpenAI-style error body; ``error_chunk`` streams the first token, then an ``error`` chunk;
    ``cut`` streams the first token, then ends the body without [DONE]; ``stall`` streams the
    first token, then stays silent until the client goes away.
    """

    tokens: list[str] = field(default_factory=lambda: ["Decline", "d cards ", "retry. ", "[1]"])
    behaviour: Behaviour = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)
    client_gone: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""

    def wait_client_gone(self, seconds: float) -> bool:
        """Wait until a client hung up mid-stream; tell whether one did."""
        return self.client_gone.wait(seconds)


def _chunk(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _hung_up(connection: socket.socket) -> bool:
    readable, _, _ = select.select([connection], [], [], 0.02)
    return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeChatCompletions

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.fake.requests.append(body)
        self.fake.peers.append(self.client_address)
        self.fake.authorizations.append(self.headers.get("Authorization", ""))
        if self.fake.behaviour == "http_error":
            self._json_error()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        if self.fake.behaviour != "ok":
            # A broken stream ends its connection; a complete one stays open for the next.
            self.send_header("Connection", "close")
        self.end_headers()
        self._stream()

    def _json_error(self) -> None:
        error = {"error": {"message": "The server had an error", "type": "server_error"}}
        raw = json.dumps(error).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(raw)

    def _stream(self) -> None:
        behaviour = self.fake.behaviour
        for number, token in enumerate(self.fake.tokens):
            self._event(_chunk({"content": token}))
            if number == 0 and behaviour != "ok":
                self._after_first_token(behaviour)
                return
        self._event(_chunk({}, finish_reason="stop"))
        self._send(b"data: [DONE]\n\n")
        self._end()

    def _after_first_token(self, behaviour: Behaviour) -> None:
        if behaviour == "error_chunk":
            self._event({"error": {"message": "model overloaded", "type": "server_error"}})
            self._end()
        elif behaviour == "cut":
            self._end()
        else:
            self._stall()

    def _stall(self) -> None:
        deadline = time.monotonic() + STALL_LIMIT_SECONDS
        while time.monotonic() < deadline and not self.fake.stopping.is_set():
            if _hung_up(self.connection):
                self.fake.client_gone.set()
                return

    def _event(self, data: dict[str, Any]) -> None:
        self._send(f"data: {json.dumps(data)}\n\n".encode())

    def _send(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@contextmanager
def serving(fake: FakeChatCompletions) -> Iterator[FakeChatCompletions]:
    """Serve ``fake`` on a free port of 127.0.0.1, its ``base_url`` set (``.../v1``)."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
