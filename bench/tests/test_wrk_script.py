"""The wrk script of the README's load study by hand, run by wrk against a recording server."""

import json
import os
import shutil
import subprocess
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


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk's connections are
    disable_nagle_algorithm = True  # the head and the body go out as two writes
    seen: list[Seen]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(
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
    seen: list[Seen] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/chat", seen
    finally:
        server.shutdown()
        server.server_close()


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
