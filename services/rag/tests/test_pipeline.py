"""The answer stream always ends (done or error), beats while waiting, and stops the provider."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from rag.providers import Passage, ProviderError
from rag.retrieval.index import Article
from rag.streaming.events import HEARTBEAT, ChatEvent, StreamItem
from rag.streaming.pipeline import answer_events

pytestmark = pytest.mark.anyio

PASSAGES = [Passage(1, Article(7, "refunds", "Refunds", "Refunds take five days."))]


class ScriptedProvider:
    """Yields its chunks, then fails, stalls or ends as told; records whether it was stopped."""

    name = "scripted"

    def __init__(self, chunks: Sequence[str], then: str = "end") -> None:
        self.chunks = list(chunks)
        self.then = then
        self.stopped = asyncio.Event()
        self.stalled = asyncio.Event()
        self.finished = False

    async def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        try:
            for chunk in self.chunks:
                yield chunk
            if self.then == "fail":
                raise ProviderError("the model fell over")
            if self.then == "crash":
                raise RuntimeError("bug")
            if self.then == "stall":
                self.stalled.set()
                await asyncio.Event().wait()
            self.finished = True
        except (asyncio.CancelledError, GeneratorExit):
            self.stopped.set()
            raise


async def _all(items: AsyncIterator[StreamItem]) -> list[StreamItem]:
    return [item async for item in items]


def _names(items: list[StreamItem]) -> list[str]:
    return [item.name if isinstance(item, ChatEvent) else "ping" for item in items]


async def test_sources_then_tokens_then_done_with_the_whole_answer() -> None:
    provider = ScriptedProvider(["Refunds take ", "five days. [1]"])
    items = await _all(answer_events(provider, "refund", PASSAGES, timeout=5))
    assert _names(items) == ["sources", "token", "token", "done"]
    assert items[0] == ChatEvent("sources", [{"id": 7, "slug": "refunds", "title": "Refunds"}])
    assert items[-1] == ChatEvent("done", {"answer": "Refunds take five days. [1]"})
    assert provider.finished


async def test_a_provider_failure_mid_stream_ends_with_an_error_event() -> None:
    provider = ScriptedProvider(["Refunds "], then="fail")
    items = await _all(answer_events(provider, "refund", PASSAGES, timeout=5))
    assert _names(items) == ["sources", "token", "error"]
    assert items[-1] == ChatEvent(
        "error", {"code": "provider_error", "message": "the model fell over"}
    )


async def test_an_unexpected_provider_exception_is_an_internal_error_event() -> None:
    items = await _all(answer_events(ScriptedProvider([], "crash"), "q", PASSAGES, timeout=5))
    assert _names(items) == ["sources", "error"]
    assert items[-1].data["code"] == "internal_error"  # type: ignore[union-attr]


async def test_a_silent_provider_gets_heartbeats_then_a_timeout_and_is_stopped() -> None:
    provider = ScriptedProvider(["Refunds "], then="stall")
    events = answer_events(provider, "q", PASSAGES, timeout=0.3, heartbeat=0.02)
    items = await _all(events)
    names = _names(items)
    assert names[:2] == ["sources", "token"] and names[-1] == "error"
    assert set(names[2:-1]) == {"ping"}
    assert items[-1].data["code"] == "provider_timeout"  # type: ignore[union-attr]
    assert provider.stopped.is_set()


async def test_without_heartbeat_there_is_no_ping() -> None:
    items = await _all(answer_events(ScriptedProvider([], "stall"), "q", PASSAGES, timeout=0.1))
    assert HEARTBEAT not in items
    assert _names(items) == ["sources", "error"]


async def test_a_consumer_that_stops_reading_stops_the_provider() -> None:
    provider = ScriptedProvider(["one ", "two ", "three"])
    events = answer_events(provider, "q", PASSAGES, timeout=5)
    assert (await anext(events)).name == "sources"  # type: ignore[union-attr]
    assert (await anext(events)).name == "token"  # type: ignore[union-attr]
    await events.aclose()
    assert provider.stopped.is_set()
    assert not provider.finished


async def test_cancelling_the_consumer_cancels_the_pending_provider_step() -> None:
    provider = ScriptedProvider(["one "], then="stall")

    async def consume() -> None:
        async for _ in answer_events(provider, "q", PASSAGES, timeout=60):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(provider.stalled.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.stopped.is_set()


async def test_a_consumer_that_stops_during_a_heartbeat_stops_the_pending_step() -> None:
    provider = ScriptedProvider(["one "], then="stall")
    events = answer_events(provider, "q", PASSAGES, timeout=60, heartbeat=0.01)
    async for item in events:
        if item is HEARTBEAT:
            break
    await events.aclose()
    assert provider.stalled.is_set() and provider.stopped.is_set()


class Gate:
    """A pace that records each pause and, when closed, holds it until opened."""

    def __init__(self, *, closed: bool = False) -> None:
        self.log: list[str] = []
        self.opened = asyncio.Event()
        self.cancelled = asyncio.Event()
        if not closed:
            self.opened.set()

    async def __call__(self) -> None:
        self.log.append("pause")
        try:
            await self.opened.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


async def test_the_pace_is_awaited_before_each_token_and_not_after_the_last() -> None:
    pace = Gate()
    provider = ScriptedProvider(["Refunds take ", "five ", "days. [1]"])
    async for item in answer_events(provider, "refund", PASSAGES, timeout=5, pace=pace):
        pace.log.append(_names([item])[0])
    assert pace.log == ["sources", "pause", "token", "pause", "token", "pause", "token", "done"]
    assert provider.finished


async def test_a_slow_pace_gets_heartbeats_like_a_slow_provider() -> None:
    pace = Gate(closed=True)
    provider = ScriptedProvider(["one"])
    events = answer_events(provider, "q", PASSAGES, timeout=60, heartbeat=0.01, pace=pace)
    names = []
    async for item in events:
        names.append(_names([item])[0])
        if item is HEARTBEAT:
            pace.opened.set()
    assert names[0] == "sources" and names[-2:] == ["token", "done"]
    assert "ping" in names[1:-2]


async def test_a_pace_longer_than_the_timeout_is_a_provider_timeout() -> None:
    pace = Gate(closed=True)
    provider = ScriptedProvider(["one ", "two"])
    items = await _all(answer_events(provider, "q", PASSAGES, timeout=0.1, pace=pace))
    assert _names(items) == ["sources", "error"]
    assert items[-1].data["code"] == "provider_timeout"  # type: ignore[union-attr]
    assert pace.cancelled.is_set() and provider.stopped.is_set()


async def test_a_consumer_that_leaves_during_a_pause_cancels_it_and_stops_the_provider() -> None:
    pace = Gate(closed=True)
    provider = ScriptedProvider(["one ", "two"])
    events = answer_events(provider, "q", PASSAGES, timeout=60, heartbeat=0.01, pace=pace)
    async for item in events:
        if item is HEARTBEAT:
            break
    await events.aclose()
    assert pace.log == ["pause"]
    assert pace.cancelled.is_set() and provider.stopped.is_set()


async def test_without_heartbeat_no_task_is_started_per_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[object] = []
    original = asyncio.create_task

    def counting_create_task(coro: Any, **kwargs: Any) -> "asyncio.Task[Any]":
        started.append(coro)
        return original(coro, **kwargs)

    monkeypatch.setattr(asyncio, "create_task", counting_create_task)
    provider = ScriptedProvider([f" word{n}" for n in range(20)])
    items = await _all(answer_events(provider, "q", PASSAGES, timeout=1))
    assert _names(items) == ["sources"] + ["token"] * 20 + ["done"]
    assert started == []


async def test_without_heartbeat_the_provider_runs_under_the_stream_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    span = tracer.start_span("stream")
    seen: list[trace.Span] = []

    class SpanWatcher:
        name = "watcher"

        async def stream_answer(
            self, question: str, passages: Sequence[Passage]
        ) -> AsyncIterator[str]:
            for chunk in ("a", "b"):
                seen.append(trace.get_current_span())
                yield chunk

    items = await _all(answer_events(SpanWatcher(), "q", PASSAGES, timeout=1, span=span))
    assert _names(items) == ["sources", "token", "token", "done"]
    assert seen == [span, span]
    assert trace.get_current_span() is not span


class SteadyProvider:
    """Yields a chunk every ``interval`` seconds: slow in total, never silent for long."""

    name = "steady"

    def __init__(self, chunks: int, interval: float) -> None:
        self.chunks, self.interval = chunks, interval

    async def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        for number in range(self.chunks):
            await asyncio.sleep(self.interval)
            yield f" {number}"


async def test_the_timeout_bounds_each_silence_not_the_whole_answer() -> None:
    # 1.5 s of answer against a 1.0 s timeout; each silence (0.1 s) far below it, so a loaded
    # machine's late wake-up (a 0.05 s pause once took over 0.2 s in CI) cannot end it.
    provider = SteadyProvider(chunks=15, interval=0.1)
    items = await _all(answer_events(provider, "q", PASSAGES, timeout=1.0))
    assert _names(items) == ["sources"] + ["token"] * 15 + ["done"]


async def test_a_silence_after_steady_chunks_still_times_out() -> None:
    provider = ScriptedProvider([" a", " b", " c"], "stall")
    items = await _all(answer_events(provider, "q", PASSAGES, timeout=0.1))
    assert _names(items) == ["sources", "token", "token", "token", "error"]
    assert items[-1].data["code"] == "provider_timeout"  # type: ignore[union-attr]
    assert provider.stopped.is_set()
