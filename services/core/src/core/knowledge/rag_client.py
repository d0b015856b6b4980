"""Core's client of rag's RagService over gRPC: where the monolith delegates to the new service.

Branch by abstraction, inside the monolith: features that now need rag (related articles, the
chat when ``CORE_CHAT_PROVIDER=rag``) call it through this module and nothing else. One channel
per process and target, opened on first use through ``strangler_shared.open_channel``: that is
after gunicorn forked the worker and tracing instrumented gRPC, so the official client interceptor
is on the channel; every call carries the service token and an explicit deadline. Every way a call
can fail becomes :class:`RagError`, with a code the API answers with.
"""

import logging
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from django.conf import settings
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import load_service_token, open_channel

from core.knowledge.tracecontext import in_current_context

logger = logging.getLogger(__name__)

UNAVAILABLE = "upstream_unavailable"
TIMEOUT = "upstream_timeout"
FAILED = "upstream_error"

_lock = threading.Lock()
_channels: dict[tuple[str, str], grpc.Channel] = {}


class RagError(Exception):
    """A call to RagService failed: ``code`` is UNAVAILABLE, TIMEOUT or FAILED."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RagHit:
    """One article rag ranked for a query."""

    id: int
    slug: str
    title: str
    snippet: str
    score: float


def _stub() -> rag_pb2_grpc.RagServiceStub:
    token = load_service_token()
    key = (settings.CORE_RAG_GRPC_TARGET, token)
    with _lock:
        channel = _channels.get(key)
        if channel is None:
            # Each call passes its own deadline; the channel's default never applies.
            channel = _channels[key] = open_channel(*key)
    return rag_pb2_grpc.RagServiceStub(channel)


def close_channels() -> None:
    """Close every channel this process opened (tests, and a process about to exit)."""
    with _lock:
        for channel in _channels.values():
            channel.close()
        _channels.clear()


def _error(exc: grpc.RpcError, deadline: float) -> RagError:
    status = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    logger.warning("RagService call failed: %s %s", status, _details(exc))
    if status == grpc.StatusCode.UNAVAILABLE:
        return RagError(UNAVAILABLE, "the rag service is unreachable")
    if status == grpc.StatusCode.DEADLINE_EXCEEDED:
        return RagError(TIMEOUT, f"the rag service did not answer within {deadline:g} s")
    return RagError(FAILED, f"the rag service failed ({status.name})")


def _details(exc: grpc.RpcError) -> str:
    return str(exc.details()) if isinstance(exc, grpc.Call) else str(exc)


def search(query: str, k: int) -> list[RagHit]:
    """Return rag's best ``k`` articles for ``query``, or raise RagError."""
    deadline = settings.CORE_RAG_GRPC_TIMEOUT_SECONDS
    try:
        reply = _stub().Search(rag_pb2.SearchRequest(query=query, k=k), timeout=deadline)
    except grpc.RpcError as exc:
        raise _error(exc, deadline) from exc
    return [
        RagHit(id=r.article_id, slug=r.slug, title=r.title, snippet=r.snippet, score=r.score)
        for r in reply.results
    ]


def answer_events(question: str, k: int) -> Generator[rag_pb2.AnswerEvent, None, None]:
    """Stream rag's answer events; raise RagError; closing the generator cancels the call."""
    deadline = settings.CORE_RAG_ANSWER_DEADLINE_SECONDS
    call = _stub().Answer(rag_pb2.AnswerRequest(question=question, k=k), timeout=deadline)
    return in_current_context(_events(call, deadline))


def _events(
    call: Iterator[rag_pb2.AnswerEvent], deadline: float
) -> Generator[rag_pb2.AnswerEvent, None, None]:
    try:
        yield from call
    except grpc.RpcError as exc:
        raise _error(exc, deadline) from exc
    finally:
        _cancel(call)


def _cancel(call: Any) -> None:
    # Without tracing the call is gRPC's own, which cancels. The tracing interceptor wraps it in
    # a generator instead: closing that releases the call, and gRPC cancels a call it releases
    # unfinished.
    cancel = getattr(call, "cancel", None)
    if callable(cancel):
        cancel()
    else:
        call.close()
