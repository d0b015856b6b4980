"""A stand-in RagService on a real gRPC socket, to test core's side of the delegation.

Core never imports rag, so its tests drive the client against this stand-in, which implements
the generated contract (strangler_contracts) and checks the service token with the same
interceptor rag uses; the end-to-end suite (tests/e2e) runs core against the real rag. It
answers what a test sets, records what it was asked, and notices a call its client cancelled.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import ServiceTokenServerInterceptor

HOLD_LIMIT_SECONDS = 10.0


def sources_event(*sources: tuple[int, str, str]) -> rag_pb2.AnswerEvent:
    """Return a ``sources`` event citing (id, slug, title) triples."""
    cited = [rag_pb2.AnswerSource(article_id=i, slug=s, title=t) for i, s, t in sources]
    return rag_pb2.AnswerEvent(sources=rag_pb2.AnswerSources(sources=cited))


def token_event(text: str) -> rag_pb2.AnswerEvent:
    """Return a ``token`` event."""
    return rag_pb2.AnswerEvent(token=rag_pb2.AnswerToken(text=text))


def done_event(answer: str) -> rag_pb2.AnswerEvent:
    """Return a ``done`` event."""
    return rag_pb2.AnswerEvent(done=rag_pb2.AnswerDone(answer=answer))


def error_event(code: str, message: str) -> rag_pb2.AnswerEvent:
    """Return an ``error`` event."""
    return rag_pb2.AnswerEvent(error=rag_pb2.AnswerError(code=code, message=message))


@dataclass
class StandInRag(rag_pb2_grpc.RagServiceServicer):
    """RagService answering from fixed data; ``delay`` before Search, ``hold`` after events.

    ``endings`` records how each Answer call ended: ``completed`` (every event read),
    ``cancelled`` by the client, or past its ``deadline``.
    """

    results: list[rag_pb2.SearchResult] = field(default_factory=list)
    events: list[rag_pb2.AnswerEvent] = field(default_factory=list)
    delay: float = 0.0
    hold: bool = False
    searches: list[rag_pb2.SearchRequest] = field(default_factory=list)
    answers: list[rag_pb2.AnswerRequest] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    endings: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    target: str = ""

    def Search(
        self, request: rag_pb2.SearchRequest, context: grpc.ServicerContext
    ) -> rag_pb2.SearchResponse:
        """Return the first k results, after ``delay``."""
        self.searches.append(request)
        self.stopping.wait(self.delay)
        return rag_pb2.SearchResponse(results=self.results[: request.k])

    def Answer(
        self, request: rag_pb2.AnswerRequest, context: grpc.ServicerContext
    ) -> Iterator[rag_pb2.AnswerEvent]:
        """Stream the events; with ``hold``, then wait for the client to cancel."""
        self.answers.append(request)
        finished, ended = threading.Event(), threading.Event()
        context.add_callback(ended.set)
        # Once cancelled, gRPC stops pulling this generator: record how it ended in a callback.
        context.add_callback(lambda: self._record_end(context, finished.is_set()))
        yield from self.events
        if self.hold:
            ended.wait(HOLD_LIMIT_SECONDS)
        else:
            finished.set()

    def _record_end(self, context: grpc.ServicerContext, finished: bool) -> None:
        if self.stopping.is_set():
            return
        remaining = context.time_remaining()
        if finished:
            self.endings.append("completed")
        elif remaining is not None and remaining <= 0:
            self.endings.append("deadline")
        else:
            self.endings.append("cancelled")
            self.cancelled.set()

    def wait_endings(self, count: int, seconds: float = 5.0) -> list[str]:
        """Wait until ``count`` Answer calls have ended; return how each one did."""
        deadline = time.monotonic() + seconds
        while len(self.endings) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.endings)


@contextmanager
def serving(rag: StandInRag, token: str) -> Iterator[StandInRag]:
    """Serve ``rag`` on a free port of 127.0.0.1, its ``target`` set; require ``token``."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=4), interceptors=[ServiceTokenServerInterceptor(token)]
    )
    rag_pb2_grpc.add_RagServiceServicer_to_server(rag, server)
    rag.target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield rag
    finally:
        rag.stopping.set()
        server.stop(grace=None).wait()
