"""Turn a provider's chunks into an answer stream that always ends, and ends cleanly.

Three guarantees, whatever the provider does:
- it ends: with ``done``, or with ``error`` when the provider fails, raises anything, or stays
  silent longer than its timeout (per chunk, the first one included) — never a hang;
- it is alive: a heartbeat every ``heartbeat_seconds`` while the provider is silent;
- it stops work: when the consumer stops (client gone), the pending provider step is cancelled
  and the provider's generator closed, which drops its request to a model server.

An optional ``pace`` is awaited after each chunk, inside the provider step: the token-delay fault
(``rag.faults``) makes the provider look slower, so the pause gets heartbeats, counts against the
timeout and is cancelled with the step, exactly as a slow model would.

Each provider step runs with the stream's span current, so the provider's own spans (its httpx
call) nest under it: in a task of its own when heartbeats are wanted (so the wait can beat), in
the consumer's task otherwise.
"""

import asyncio
import contextvars
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace

from rag.providers import AnswerProvider, Passage, ProviderError, ProviderTimeoutError
from rag.streaming.events import (
    HEARTBEAT,
    Heartbeat,
    StreamItem,
    done_event,
    error_event,
    sources_event,
    token_event,
)

logger = logging.getLogger(__name__)

Pace = Callable[[], Awaitable[None]]


class _End:
    """The provider's stream is exhausted."""


_END: Final = _End()


async def _step(chunks: AsyncIterator[str], pace: Pace | None) -> str | _End:
    try:
        chunk = await anext(chunks)
    except StopAsyncIteration:
        return _END
    if pace is not None:
        await pace()
    return chunk


def _context_for(span: trace.Span | None) -> contextvars.Context:
    step_context = contextvars.copy_context()
    if span is not None:
        step_context.run(otel_context.attach, trace.set_span_in_context(span))
    return step_context


async def _provider_items(
    chunks: AsyncIterator[str],
    span: trace.Span | None,
    timeout: float,
    heartbeat: float | None,
    pace: Pace | None,
) -> AsyncGenerator[str | Heartbeat, None]:
    """Yield the provider's chunks, and heartbeats while waiting; time out a silent provider."""
    steps: AsyncGenerator[str | Heartbeat, None]
    if heartbeat is None:
        steps = _steps_inline(chunks, span, timeout, pace)
    else:
        steps = _steps_beating(chunks, span, timeout, heartbeat, pace)
    async with aclosing(steps):
        async for item in steps:
            yield item


class _SilenceWatch:
    """Time out the step the consumer's task waits in, with one timer per stream.

    An ``asyncio.timeout`` per step set and cancelled a timer for every token; this timer fires at
    most once per ``timeout`` and then checks how long the step under way has been waiting.
    """

    def __init__(self, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._timeout = timeout
        self._since: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self.expired = False

    def step_started(self) -> None:
        self._since = self._loop.time()
        if self._handle is None:
            self._handle = self._loop.call_at(self._since + self._timeout, self._check)

    def step_ended(self) -> None:
        self._since = None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        self._handle = None
        if self._since is None or self._task is None:
            return
        due = self._since + self._timeout
        if self._loop.time() < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        # The task is suspended in the step (only then does the loop run this), so the
        # cancellation lands in the step's await.
        self.expired = True
        self._task.cancel()


async def _steps_inline(
    chunks: AsyncIterator[str], span: trace.Span | None, timeout: float, pace: Pace | None
) -> AsyncGenerator[str | Heartbeat, None]:
    """Run each step in the consumer's own task: without heartbeats nothing needs a second one.

    A task per chunk (and the wait on it) cost more than the chunk itself once answers stream
    token by token; a watch on the consumer's await times the step out just as well.
    """
    parent = trace.set_span_in_context(span) if span is not None else None
    watch = _SilenceWatch(timeout)
    try:
        while True:
            item = await _watched_step(chunks, pace, parent, watch, timeout)
            if isinstance(item, _End):
                return
            yield item
    finally:
        watch.close()


async def _watched_step(
    chunks: AsyncIterator[str],
    pace: Pace | None,
    parent: otel_context.Context | None,
    watch: _SilenceWatch,
    timeout: float,
) -> str | _End:
    # Attached only around the step, never across a yield, so the consumer's context is the
    # same whenever it runs.
    token = otel_context.attach(parent) if parent is not None else None
    watch.step_started()
    try:
        return await _step(chunks, pace)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if watch.expired and task is not None and task.uncancel() == 0:
            raise ProviderTimeoutError(f"the provider sent nothing for {timeout:g} s") from None
        raise
    finally:
        watch.step_ended()
        if token is not None:
            otel_context.detach(token)


async def _steps_beating(
    chunks: AsyncIterator[str],
    span: trace.Span | None,
    timeout: float,
    heartbeat: float,
    pace: Pace | None,
) -> AsyncGenerator[str | Heartbeat, None]:
    """Run each step in a task, so the wait can beat while the provider is silent."""
    step_context = _context_for(span)
    loop = asyncio.get_running_loop()
    while True:
        task = asyncio.create_task(_step(chunks, pace), context=step_context)
        deadline = loop.time() + timeout
        try:
            while not task.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ProviderTimeoutError(f"the provider sent nothing for {timeout:g} s")
                await asyncio.wait({task}, timeout=min(remaining, heartbeat))
                if not task.done() and loop.time() < deadline:
                    yield HEARTBEAT
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        item = task.result()
        if isinstance(item, _End):
            return
        yield item


async def answer_events(
    provider: AnswerProvider,
    question: str,
    passages: Sequence[Passage],
    *,
    timeout: float,
    heartbeat: float | None = None,
    span: trace.Span | None = None,
    pace: Pace | None = None,
) -> AsyncGenerator[StreamItem, None]:
    """Yield sources, tokens and done (or error), with heartbeats while the provider is silent."""
    yield sources_event(passages)
    parts: list[str] = []
    chunks = aiter(provider.stream_answer(question, passages))
    items = _provider_items(chunks, span, timeout, heartbeat, pace)
    try:
        # Closed first on the way out, so a provider step still pending is cancelled before the
        # provider's generator is closed (a running generator cannot be).
        async with aclosing(items):
            async for item in items:
                if isinstance(item, Heartbeat):
                    yield item
                    continue
                parts.append(item)
                yield token_event(item)
    except ProviderError as error:
        logger.warning("provider %s failed: %s", provider.name, error)
        yield error_event(error.code, str(error))
        return
    except Exception:
        logger.exception("provider %s broke", provider.name)
        yield error_event("internal_error", "The answer could not be completed.")
        return
    finally:
        await _close(chunks)
    yield done_event("".join(parts))


async def _close(chunks: AsyncIterator[str]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
