"""Keep rag's copy of the knowledge base in step with core: rag polls.

Core owns the articles; rag keeps an in-memory copy to search. Rag polls: a full sync from an
empty cursor at start-up, then every ``sync_interval_seconds`` an incremental pull of the changes
after the last cursor (``CoreService.ListArticles``, server streaming). Updates replace articles,
tombstones remove them. Each change carries its own resume cursor, and rag advances its cursor
only over changes it has applied, so a stream that breaks midway resumes where it stopped rather
than starting over. Polling (rather than core pushing) keeps core unaware of its readers: a new
reader needs no change in the monolith, and a reader that was down simply catches up. An edit
saved in the Django admin reaches rag's search within one interval (2 s by default).

Why each poll re-reads the last few seconds (``overlap_seconds``): the feed is ordered by
``updated_at``, which a writer stamps *before* it commits. Two concurrent writers can commit in
the other order, so a change may become visible after rag has already moved its cursor past its
timestamp; resuming from exactly the last cursor would miss it for good. Rag therefore resumes
from the newest change that is older than the overlap window and re-reads the window; changes it
already holds are skipped without a rebuild. This assumes core's and rag's clocks agree to within
the window (one machine here; NTP elsewhere).

Polls are housekeeping, not requests: they run under an unsampled trace context, so they add
no trace every interval (here, or in core, whose parent-based sampler follows the flag).

While core is unreachable the loop retries with exponential backoff and logs a warning; it never
crashes the app. ``ready`` turns true once the first full sync has finished (``/healthz`` and the
local runner wait on it).
"""

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing, contextmanager

from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from rag.core_client import CoreClient, CoreError, ReceivedChange
from rag.retrieval.index import ArticleIndex

logger = logging.getLogger(__name__)

NOT_READY_MESSAGE = "The knowledge base has not been synced from core yet."
"""What a question asked before the first sync is refused with, over HTTP, WebSocket and gRPC."""

# Changes applied per index rebuild during a long stream: bounds both the rebuild count and how
# much is received but not yet applied if the stream breaks.
BATCH_SIZE = 500


@contextmanager
def _untraced() -> Iterator[None]:
    """Run the block under a valid but unsampled parent span, so nothing in it is recorded."""
    parent = SpanContext(
        trace_id=secrets.randbits(128) or 1,
        span_id=secrets.randbits(64) or 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    try:
        yield
    finally:
        context.detach(token)


class KnowledgeBaseSync:
    """Pull article changes from core into an index, forever, resuming from the last cursor."""

    def __init__(
        self,
        core: CoreClient,
        index: ArticleIndex,
        *,
        interval_seconds: float,
        stream_timeout_seconds: float,
        retry_initial_seconds: float,
        retry_max_seconds: float,
        overlap_seconds: float = 0.0,
        on_ready: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._core = core
        self._index = index
        self._interval = interval_seconds
        self._stream_timeout = stream_timeout_seconds
        self._retry_initial = retry_initial_seconds
        self._retry_max = retry_max_seconds
        self._overlap = overlap_seconds
        self._on_ready = on_ready
        self._clock = clock
        self._ready = asyncio.Event()
        # The newest applied change's cursor, and where the next poll starts (see the module).
        self.cursor = ""
        self.resume_cursor = ""
        # (changed_at, cursor) of applied changes still inside the overlap window, oldest first.
        self._recent: deque[tuple[float, str]] = deque()

    @property
    def ready(self) -> bool:
        """Whether the first full sync has finished."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        """Wait until the first full sync has finished."""
        await self._ready.wait()

    async def run(self) -> None:
        """Pull changes until cancelled: retry with backoff on failure, else wait the interval."""
        failures = 0
        with _untraced():
            while True:
                delay = self._backoff(failures + 1)
                self._settle()
                if await self._try_pull(retry_in=delay):
                    failures = 0
                    await self._mark_ready()
                    delay = self._interval
                else:
                    failures += 1
                await asyncio.sleep(delay)

    async def _try_pull(self, *, retry_in: float) -> bool:
        try:
            applied = await self.pull_once()
        except CoreError as error:
            logger.warning("knowledge base sync failed (%s); retrying in %.1fs", error, retry_in)
            return False
        except Exception:
            # A bad change must not take search down with it: log loudly, keep serving.
            logger.exception("knowledge base sync broke; retrying in %.1fs", retry_in)
            return False
        if applied:
            logger.info("applied %s article changes; cursor %s", applied, self.cursor)
        return True

    async def pull_once(self) -> int:
        """Apply every change after the resume cursor; return how many changed the index."""
        batch: list[ReceivedChange] = []
        applied = 0
        # The window is read again from its start, so what it held is about to arrive again.
        self._recent.clear()
        stream = self._core.list_articles(self.resume_cursor, timeout_seconds=self._stream_timeout)
        async with aclosing(stream) as changes:
            try:
                async for received in changes:
                    batch.append(received)
                    if len(batch) >= BATCH_SIZE:
                        full, batch = batch, []
                        applied += await self._apply(full)
            finally:
                # What arrived before a break is complete and in order: keep it, resume after.
                if batch:
                    applied += await self._apply(batch)
        return applied

    async def _apply(self, batch: list[ReceivedChange]) -> int:
        # A rebuild is CPU work: keep it off the event loop that serves HTTP and gRPC.
        applied = await asyncio.to_thread(self._index.apply, [item.change for item in batch])
        self.cursor = batch[-1].cursor
        self._recent.extend((item.changed_at, item.cursor) for item in batch)
        self._settle()
        return applied

    def _settle(self) -> None:
        """Move the resume cursor over the applied changes older than the overlap window."""
        horizon = self._clock() - self._overlap
        while self._recent and self._recent[0][0] <= horizon:
            self.resume_cursor = self._recent.popleft()[1]

    async def _mark_ready(self) -> None:
        if self.ready:
            return
        self._ready.set()
        logger.info("knowledge base ready: %s articles", len(self._index))
        if self._on_ready is not None:
            await self._on_ready()

    def _backoff(self, failures: int) -> float:
        # The exponent is capped so a long outage cannot overflow the float.
        return min(self._retry_max, self._retry_initial * 2.0 ** min(failures - 1, 30))
