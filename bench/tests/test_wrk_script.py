"""The wrk script of the README's load study by hand, run by wrk against a recording server."""

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest

SCRIPT = Path(__file__).parents[1] / "wrk" / "chat.lua"

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="needs wrk, Debian's package (`make wrk` installs it)"
)


class Seen(NamedTuple):
    method: str
    path: str
    content_type: str
    user: str
    body: dict[str, object]


class _Recording(ThreadingHTTPServer):
    """Keeps what each request carried, and any failure of its handler but a closed connection."""

    daemon_threads = False  # so server_close() waits for every handler before failures are read

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[Seen] = []
        self.failures: list[BaseException | None] = []

    def handle_error(self, request: object, client_address: object) -> None:
        # wrk resets its connections when its time is up, mid-request or not.
        failure = sys.exc_info()[1]
        if not isinstance(failure, ConnectionError):
            self.failures.append(failure)


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk's connections are
    disable_nagle_algorithm = True  # the head and the body go out as two writes
    server: _Recording

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append(
            Seen("POST", self.path, self.headers["Content-Type"], self.headers["X-User-Id"], body)
        )
        answer = b'{"answer": "", "sources": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[Seen]]]:
    server = _Recording()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/chat", server.seen
    finally:
        server.shutdown()
        server.server_close()
    assert server.failures == []


def _wrk(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["wrk", "-t2", "-c4", "-d1s", "-s", str(SCRIPT), url],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        check=True,
    )


def test_every_request_is_a_chat_question_from_its_own_user(
    recorder: tuple[str, list[Seen]],
) -> None:
    url, seen = recorder
    _wrk(url)
    assert len(seen) > 100
    assert {(s.method, s.path, s.content_type) for s in seen} == {
        ("POST", "/api/chat", "application/json")
    }
    assert all(s.body == {"question": "How do I get a refund?", "k": 1} for s in seen)
    users = [s.user for s in seen]
    assert all(user.startswith("load-") for user in users)
    # One in a million each: a few repeats at most, unless both threads drew the same sequence
    # (then half of them would be repeats).
    assert len(set(users)) > 0.95 * len(users)


def test_the_question_comes_from_the_environment_escaped_as_json(
    recorder: tuple[str, list[Seen]],
) -> None:
    url, seen = recorder
    _wrk(url, QUESTION='Can I pay by "invoice" \\ bank transfer?')
    assert seen
    assert {s.body["question"] for s in seen} == {'Can I pay by "invoice" \\ bank transfer?'}
