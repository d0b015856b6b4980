"""The bench's model server: the OpenAI streaming protocol, an event per body chunk."""

import asyncio
import json
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
from rag.bench.model_server import TOKENS, FakeChatCompletions
from rag.config import Settings
from rag.outbound import open_outbound_session
from rag.providers import OpenAICompatibleProvider, Passage
from rag.retrieval.index import Article
from strangler_bench.apps.openai_standin import app
from strangler_testing.servers import serve_in_thread

_REQUEST = {"model": "tiny", "stream": True, "messages": [{"role": "user", "content": "Hi?"}]}


def _call(path: str, body: bytes, method: str = "POST") -> list[dict[str, Any]]:
    """Drive the ASGI app once; return the messages it sent."""
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": method, "path": path, "headers": []}
    pending = [{"type": "http.request", "body": body[:5], "more_body": True},
               {"type": "http.request", "body": body[5:], "more_body": False}]  # fmt: skip

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    return sent


def _chunks(events: list[bytes]) -> list[dict[str, Any]]:
    assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events), events
    return [json.loads(e[6:]) for e in events if e != b"data: [DONE]\n\n"]


def _without_created(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "created"} for c in chunks]


def test_each_event_is_a_body_chunk_of_its_own_after_the_paths_delay() -> None:
    started = time.monotonic()
    sent = _call("/after/0.2/v1/chat/completions", json.dumps(_REQUEST).encode())
    assert time.monotonic() - started >= 0.2
    start, *bodies = sent
    assert start["status"] == 200
    assert dict(start["headers"])[b"content-type"].startswith(b"text/event-stream")
    events = [m["body"] for m in bodies]
    tokens = list(TOKENS)
    # One event per token, the final chunk, then [DONE]; only the last message ends the body.
    assert len(events) == len(tokens) + 2
    assert events[-1] == b"data: [DONE]\n\n"
    assert [m.get("more_body", False) for m in bodies] == [True] * (len(tokens) + 1) + [False]
    chunks = _chunks(events)
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == [*tokens, None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert {c["model"] for c in chunks} == {"tiny"}


def test_it_streams_what_rags_model_server_streams() -> None:
    body = json.dumps(_REQUEST)
    with serve_in_thread(FakeChatCompletions().app()) as url:
        reference = httpx.post(f"{url}/v1/chat/completions", content=body).content
    ours = b"".join(m.get("body", b"") for m in _call("/v1/chat/completions", body.encode()))
    theirs_events = [e + b"\n\n" for e in reference.split(b"\n\n") if e]
    ours_events = [e + b"\n\n" for e in ours.split(b"\n\n") if e]
    assert ours_events[-1] == theirs_events[-1] == b"data: [DONE]\n\n"
    # The same chunks, key for key; only the second each was made in may differ.
    assert _without_created(_chunks(ours_events)) == _without_created(_chunks(theirs_events))


def test_rags_openai_provider_reads_its_answers_over_one_pooled_session() -> None:
    passages = [Passage(1, Article(1, "reset", "Reset your password", "Choose Forgot."))]

    async def answers(base_url: str) -> list[list[str]]:
        # Three answers in turn through rag's own pool, its connections kept alive between them.
        async with open_outbound_session(Settings(provider_timeout_seconds=5.0)) as session:
            provider = OpenAICompatibleProvider(
                session, base_url=base_url, model="tiny", api_key="sk-test"
            )
            return [
                [c async for c in provider.stream_answer("How do I reset it?", passages)]
                for _ in range(3)
            ]

    with serve_in_thread(app) as url:
        assert asyncio.run(answers(f"{url}/after/0.05/v1")) == [list(TOKENS)] * 3
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}


def test_other_paths_and_bad_bodies_get_an_error_not_a_stream() -> None:
    assert _call("/v2/chat/completions", b"{}")[0]["status"] == 404
    assert _call("/v1/chat/completions", b"{}", method="GET")[0]["status"] == 404
    assert _call("/v1/chat/completions", b"not json")[0]["status"] == 400
    assert _call("/v1/chat/completions", b'{"stream": true}')[0]["status"] == 400
