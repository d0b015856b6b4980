"""The comparison itself: ask legacy twice and new once, judge, record, off the user's path.

Requests arrive on a bounded queue and a fixed number of workers drain it, so a flood of mirrored
traffic costs the comparator dropped comparisons (counted), never memory or the gateway's time.
Each comparison is a root span of a trace of its own, linked to the user's trace: the user's trace
shows only what the user waited for, and the comparison can still be found from it.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import httpx
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context, attach, detach
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from strangler_gateway.shadow._documents import Answer
from strangler_gateway.shadow.config import ComparatorSettings, ShadowTarget
from strangler_gateway.shadow.models import Comparison, Outcome
from strangler_gateway.shadow.rules import compare_answers
from strangler_gateway.shadow.store import ShadowStore

__all__ = ["COMPARED_METHODS", "Comparator", "Job"]

logger = logging.getLogger(__name__)

# Only idempotent requests are replayed: a mirrored POST sent twice to legacy would act twice.
COMPARED_METHODS = frozenset({"GET", "HEAD"})
# How often the drop counts kept in memory are added to the database.
DROP_FLUSH_SECONDS = 1.0
# The three calls of a comparison, in the order their answers are judged.
_LEGACY, _LEGACY_AGAIN, _NEW = "legacy", "legacy again", "new"


@dataclass(frozen=True)
class Job:
    """One mirrored request waiting to be compared."""

    route: str
    method: str
    uri: str
    request_id: str = ""
    # The span of the user's request that the comparison links to (None: no valid traceparent).
    user_span: SpanContext | None = None
    baggage: Mapping[str, str] = field(default_factory=dict)

    @property
    def trace_id(self) -> str:
        """Return the user's trace id in hex, or "" when it was not recorded.

        Not recorded: the request carried no trace, or one the gateway did not sample
        (``trace_sample_percent``), which no service and not the trace store kept.
        """
        span = self.user_span
        return format(span.trace_id, "032x") if span and span.trace_flags.sampled else ""


@dataclass(frozen=True)
class _Call:
    """One upstream call's result: an answer, or why there is none."""

    answer: Answer | None = None
    ms: float | None = None
    timed_out: bool = False
    error: str = ""


class Comparator:
    """A bounded queue of jobs, the workers that compare them, and the record they leave."""

    def __init__(
        self,
        settings: ComparatorSettings,
        store: ShadowStore,
        client: httpx.AsyncClient,
        tracer: trace.Tracer,
    ) -> None:
        self._settings = settings
        self._store = store
        self._client = client
        self._tracer = tracer
        self._queue: asyncio.Queue[tuple[Job, ShadowTarget]] = asyncio.Queue(settings.queue_size)
        self._drops: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        self._writes: set[asyncio.Future[None]] = set()

    def submit(self, job: Job, target: ShadowTarget) -> bool:
        """Queue ``job`` without waiting; return False (and count a drop) if the queue is full."""
        try:
            self._queue.put_nowait((job, target))
        except asyncio.QueueFull:
            self._drops[job.route] += 1
            return False
        return True

    async def start(self) -> None:
        """Start the workers and the task that records drop counts."""
        self._tasks = [
            asyncio.create_task(self._work(), name=f"shadow-worker-{index}")
            for index in range(self._settings.workers)
        ]
        self._tasks.append(asyncio.create_task(self._flush_drops(), name="shadow-drops"))

    async def stop(self) -> None:
        """Stop the workers; comparisons not finished by then are counted as dropped."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*self._writes, return_exceptions=True)
        # Jobs still waiting will never be compared: they count as dropped.
        while not self._queue.empty():
            job, _ = self._queue.get_nowait()
            self._drops[job.route] += 1
        await self._record_drops()

    async def compare(self, job: Job, target: ShadowTarget) -> Comparison:
        """Compare one request in a new trace linked to the user's, and record the result."""
        # A fresh context: the comparison is a root span, whatever the caller's context holds.
        token = attach(_baggage_context(job, target))
        try:
            with self._tracer.start_as_current_span(
                f"shadow.compare {target.route}",
                kind=SpanKind.INTERNAL,
                links=[Link(job.user_span)] if job.user_span else [],
                attributes={
                    "migration.route": target.route,
                    "migration.mode": "shadow",
                    "shadow.rule": str(target.rule),
                    "http.request.method": job.method,
                    "shadow.request_id": job.request_id,
                },
            ) as span:
                try:
                    comparison = await self._compare(job, target, span)
                except asyncio.CancelledError:
                    self._drops[job.route] += 1  # stopped mid-way: never recorded, so dropped
                    raise
                await self._record(comparison)
        finally:
            detach(token)
        return comparison

    async def _record(self, comparison: Comparison) -> None:
        # Shielded and awaited by stop(): a comparison that is finished is recorded, even when
        # the comparator stops while the write is under way.
        write = asyncio.ensure_future(asyncio.to_thread(self._store.record, comparison))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        await asyncio.shield(write)

    async def _compare(self, job: Job, target: ShadowTarget, span: trace.Span) -> Comparison:
        calls = await self._exchange(job, target)
        comparison = self._judge(job, target, calls)
        comparison = _with_trace(comparison, span)
        span.set_attribute("shadow.outcome", str(comparison.outcome))
        if comparison.overlap is not None:
            span.set_attribute("shadow.overlap", comparison.overlap)
        if comparison.outcome is Outcome.ERROR:
            span.set_status(Status(StatusCode.ERROR, comparison.detail))
        return comparison

    async def _exchange(self, job: Job, target: ShadowTarget) -> dict[str, _Call]:
        """Make the three calls at once and wait for them no longer than the budget."""
        servers = {
            _LEGACY: ("legacy", target.legacy[0]),
            # A second legacy server, if there is one: noise between instances is noise too.
            _LEGACY_AGAIN: ("legacy", target.legacy[1 % len(target.legacy)]),
            _NEW: ("new", target.new[0]),
        }
        tasks = {
            name: asyncio.create_task(self._call(side, server, job))
            for name, (side, server) in servers.items()
        }
        try:
            await asyncio.wait(tasks.values(), timeout=self._settings.budget_seconds)
        finally:
            # Over budget, or the comparator is stopping: no call outlives its comparison.
            late = [task for task in tasks.values() if not task.done()]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        return {
            name: _Call(timed_out=True) if task.cancelled() else task.result()
            for name, task in tasks.items()
        }

    async def _call(self, side: str, server: str, job: Job) -> _Call:
        token = attach(baggage.set_baggage("migration.target", side))
        try:
            headers = {"X-Shadow": "1", "X-Request-Id": job.request_id}
            # Also injected here, so the upstream joins the comparison's trace even where httpx is
            # not instrumented; the instrumentation, when present, replaces it with its own span.
            propagate.inject(headers)
            started = time.perf_counter()
            response = await self._client.request(
                job.method, f"http://{server}{job.uri}", headers=headers
            )
        except httpx.TimeoutException:
            return _Call(timed_out=True)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return _Call(error=f"{type(error).__name__}: {error}".rstrip(": "))
        finally:
            detach(token)
        ms = (time.perf_counter() - started) * 1000
        content_type = response.headers.get("content-type", "")
        return _Call(answer=Answer(response.status_code, response.content, content_type), ms=ms)

    def _judge(self, job: Job, target: ShadowTarget, calls: Mapping[str, _Call]) -> Comparison:
        legacy, again, new = calls[_LEGACY], calls[_LEGACY_AGAIN], calls[_NEW]
        base = Comparison(
            time=time.time(),
            route=target.route,
            method=job.method,
            uri=job.uri,
            request_id=job.request_id,
            trace_id=job.trace_id,
            outcome=Outcome.ERROR,
            rule=target.rule,
            legacy_ms=legacy.ms,
            new_ms=new.ms,
            legacy_status=legacy.answer.status if legacy.answer else None,
            new_status=new.answer.status if new.answer else None,
        )
        failed = [f"{name}: {call.error}" for name, call in calls.items() if call.error]
        if failed:
            return replace(base, outcome=Outcome.ERROR, detail="; ".join(failed))
        late = [name for name, call in calls.items() if call.timed_out]
        if late or legacy.answer is None or again.answer is None or new.answer is None:
            budget = f"{self._settings.budget_seconds:g} s"
            detail = f"no answer within {budget} from: {', '.join(late)}"
            return replace(base, outcome=Outcome.TIMEOUT, detail=detail)
        verdict = compare_answers(
            target.rule,
            legacy.answer,
            again.answer,
            new.answer,
            ignore=target.ignore,
            min_overlap=self._settings.min_overlap,
        )
        return replace(
            base,
            outcome=verdict.outcome,
            overlap=verdict.overlap,
            diffs=verdict.diffs,
            noise=verdict.noise,
        )

    async def _work(self) -> None:
        while True:
            job, target = await self._queue.get()
            try:
                await self.compare(job, target)
            except Exception:
                # A bug in one comparison must not stop the worker; the log keeps the traceback.
                logger.exception(
                    "comparison of %s %s failed (trace %s)", job.method, job.uri, job.trace_id
                )
            finally:
                self._queue.task_done()

    async def _flush_drops(self) -> None:
        while True:
            await asyncio.sleep(DROP_FLUSH_SECONDS)
            await self._record_drops()

    async def _record_drops(self) -> None:
        """Add the drop counts to the database; keep them for the next flush if the write fails."""
        counts, self._drops = self._drops, Counter()
        if not counts:
            return
        try:
            await asyncio.to_thread(self._store.add_drops, counts)
        except Exception:
            # A locked or full database must neither lose the counts nor end the flushing loop.
            self._drops.update(counts)
            logger.exception(
                "could not record %s dropped comparison(s); retrying", sum(counts.values())
            )
            return
        for route, count in counts.items():
            logger.warning("dropped %s comparison(s) of %s (queue full, or stop)", count, route)


def _baggage_context(job: Job, target: ShadowTarget) -> Context:
    """Return an empty context carrying the user's baggage, marked as this route's shadow."""
    context = Context()
    entries = {
        **job.baggage,
        "migration.route": target.route,
        "migration.mode": "shadow",
        "migration.fallback": "false",
    }
    for name, value in entries.items():
        context = baggage.set_baggage(name, value, context)
    return context


def _with_trace(comparison: Comparison, span: trace.Span) -> Comparison:
    context = span.get_span_context()
    shadow_trace_id = format(context.trace_id, "032x") if context.is_valid else ""
    return replace(comparison, shadow_trace_id=shadow_trace_id)
