"""The wrk script of the README's load study by hand, run by wrk against a recording server."""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from strangler_testing.shadow import JsonUpstream

SCRIPT = Path(__file__).parents[1] / "wrk" / "chat.lua"

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="needs wrk, Debian's package (`make wrk` installs it)"
)


@pytest.fixture
def upstream() -> Iterator[JsonUpstream]:
    """rag's chat route's stand-in: it answers every request and keeps what each carried."""
    with JsonUpstream({"answer": "", "sources": []}) as upstream:
        yield upstream


def _url(upstream: JsonUpstream) -> str:
    return f"http://{upstream.address}/api/chat"


def _wrk(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["wrk", "-t2", "-c4", "-d1s", "-s", str(SCRIPT), url],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        check=True,
    )


def test_every_request_is_a_chat_question_from_its_own_user(upstream: JsonUpstream) -> None:
    _wrk(_url(upstream))
    seen = upstream.received
    assert len(seen) > 100
    assert {(s.method, s.path, s.headers["content-type"]) for s in seen} == {
        ("POST", "/api/chat", "application/json")
    }
    assert all(json.loads(s.body) == {"question": "How do I get a refund?", "k": 1} for s in seen)
    users = [s.headers["x-user-id"] for s in seen]
    assert all(user.startswith("load-") for user in users)
    # One in a million each: a few repeats at most, unless both threads drew the same sequence
    # (then half of them would be repeats).
    assert len(set(users)) > 0.95 * len(users)


def test_the_question_comes_from_the_environment_escaped_as_json(upstream: JsonUpstream) -> None:
    _wrk(_url(upstream), QUESTION='Can I pay by "invoice" \\ bank transfer?')
    questions = {json.loads(s.body)["question"] for s in upstream.received}
    assert questions == {'Can I pay by "invoice" \\ bank transfer?'}
