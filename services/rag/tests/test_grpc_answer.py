"""RagService.Answer: the chat stream over gRPC, with the same events as SSE."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import grpc
import grpc.aio
import pytest
from fastapi import FastAPI
from rag.faults import FaultFlags
from rag.main import create_app
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import open_aio_channel

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def answer_stub(app: FastAPI, token: str) -> AsyncIterator[rag_pb2_grpc.RagServiceStub]:
    target = f"127.0.0.1:{app.state.grpc_port}"
    async with open_aio_channel(target, token, default_timeout=30) as channel:
        yield rag_pb2_grpc.RagServiceStub(channel)


async def test_answer_streams_sources_tokens_then_done(app: FastAPI, service_token: str) -> None:
    async with answer_stub(app, service_token) as stub:
        request = rag_pb2.AnswerRequest(question="my card was declined", k=2)
        events = [event async for event in stub.Answer(request)]
    kinds = [event.WhichOneof("event") for event in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"}
    assert events[0].sources.sources[0].slug == "payment-failed"
    assert "".join(event.token.text for event in events[1:-1]) == events[-1].done.answer


async def test_the_token_delay_set_at_run_time_slows_the_grpc_answer(
    app: FastAPI, service_token: str
) -> None:
    delay = 0.05
    # The object PUT /internal/faults changes: the servicer must read it, not a copy.
    app.state.faults.flags = FaultFlags(token_delay_seconds=delay)
    async with answer_stub(app, service_token) as stub:
        asked = time.monotonic()
        request = rag_pb2.AnswerRequest(question="my card was declined", k=2)
        events = [event async for event in stub.Answer(request)]
        answered = time.monotonic()
    kinds = [event.WhichOneof("event") for event in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and set(kinds[1:-1]) == {"token"}
    assert "".join(event.token.text for event in events[1:-1]) == events[-1].done.answer
    # A lower bound only: each of the tokens waited at least the delay.
    assert answered - asked >= (len(kinds) - 2) * delay


@pytest.mark.parametrize(("question", "k"), [("", 2), ("   ", 2), ("x" * 2001, 2), ("x", 51)])
async def test_bad_questions_are_invalid_arguments(
    app: FastAPI, service_token: str, question: str, k: int
) -> None:
    async with answer_stub(app, service_token) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            _ = [
                event async for event in stub.Answer(rag_pb2.AnswerRequest(question=question, k=k))
            ]
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_cancelling_the_call_cancels_the_providers_request(
    core: Any, service_token: str, fake_openai: Any, settings_for: Any
) -> None:
    fake_openai.fake.behaviour = "hold"
    settings = settings_for(core.target, provider="openai", openai_base_url=fake_openai.base_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        with anyio.fail_after(10):
            await application.state.sync.wait_ready()
        async with answer_stub(application, service_token) as stub:
            call = stub.Answer(rag_pb2.AnswerRequest(question="reset my password", k=2))
            assert (await call.read()).WhichOneof("event") == "sources"
            assert (await call.read()).WhichOneof("event") == "token"
            call.cancel()
        gone = await anyio.to_thread.run_sync(fake_openai.fake.wait_client_gone, 10)
    assert gone
