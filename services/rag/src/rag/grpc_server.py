"""RagService over gRPC: the same search and answers as the HTTP API, for other services.

The server is a ``grpc.aio`` server: it runs in the event loop of the HTTP app (see ``rag.main``).
Every call needs the service token except the standard health service, whose ``RagService``
status turns SERVING once the knowledge base has been synced (like ``/healthz``).
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import (
    AioMalformedRequestServerInterceptor,
    AioServiceTokenServerInterceptor,
)

from rag.answers import retrieve_passages, traced_answer
from rag.config import MAX_K, MAX_QUERY_CHARS, MAX_QUESTION_CHARS, Settings
from rag.faults import Faults
from rag.providers import AnswerProvider
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import NOT_READY_MESSAGE
from rag.streaming.events import ChatEvent

MAX_CONCURRENT_RPCS = 256
SERVICE_NAME = rag_pb2.DESCRIPTOR.services_by_name["RagService"].full_name


class GrpcBindError(RuntimeError):
    """The gRPC server could not listen on its address."""


def event_message(event: ChatEvent) -> rag_pb2.AnswerEvent:
    """Return the AnswerEvent message of a stream event."""
    data = event.data
    if event.name == "sources":
        sources = [
            rag_pb2.AnswerSource(article_id=s["id"], slug=s["slug"], title=s["title"]) for s in data
        ]
        return rag_pb2.AnswerEvent(sources=rag_pb2.AnswerSources(sources=sources))
    if event.name == "token":
        return rag_pb2.AnswerEvent(token=rag_pb2.AnswerToken(text=data["text"]))
    if event.name == "done":
        return rag_pb2.AnswerEvent(done=rag_pb2.AnswerDone(answer=data["answer"]))
    return rag_pb2.AnswerEvent(
        error=rag_pb2.AnswerError(code=data["code"], message=data["message"])
    )


async def _checked_k(k: int, context: grpc.aio.ServicerContext) -> int:
    if not 1 <= k <= MAX_K:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"k must be in 1..{MAX_K}")
    return k


async def _checked_text(text: str, name: str, limit: int, context: grpc.aio.ServicerContext) -> str:
    stripped = text.strip()
    if not 1 <= len(stripped) <= limit:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT, f"{name} must be 1..{limit} characters once stripped"
        )
    return stripped


class RagServicer(rag_pb2_grpc.RagServiceServicer):
    """Search the shared article index and stream answers from it."""

    def __init__(
        self,
        index: ArticleIndex,
        provider: AnswerProvider,
        settings: Settings,
        tracer: trace.Tracer,
        faults: Faults,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        """``ready`` says whether the index may answer yet (its first sync has finished)."""
        self._index = index
        self._ready = ready
        self._provider = provider
        self._settings = settings
        self._tracer = tracer
        self._faults = faults

    async def _require_knowledge_base(self, context: grpc.aio.ServicerContext) -> None:
        if not self._ready():
            await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_READY_MESSAGE)

    async def Search(
        self, request: rag_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> rag_pb2.SearchResponse:
        """Rank the articles for a query and return the best k."""
        await self._require_knowledge_base(context)
        k = await _checked_k(request.k or self._settings.search_default_k, context)
        query = await _checked_text(request.query, "query", MAX_QUERY_CHARS, context)
        results = [
            rag_pb2.SearchResult(
                article_id=hit.article.id,
                slug=hit.article.slug,
                title=hit.article.title,
                snippet=hit.snippet,
                score=hit.score,
            )
            for hit in await self._index.search_async(query, k)
        ]
        return rag_pb2.SearchResponse(results=results)

    async def Answer(
        self, request: rag_pb2.AnswerRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[rag_pb2.AnswerEvent]:
        """Stream an answer: sources, tokens, then done or error; cancelling stops generation."""
        await self._require_knowledge_base(context)
        k = await _checked_k(request.k or self._settings.chat_default_k, context)
        question = await _checked_text(request.question, "question", MAX_QUESTION_CHARS, context)
        passages = await retrieve_passages(self._index, question, k)
        events = traced_answer(
            self._tracer,
            "grpc",
            self._provider,
            question,
            passages,
            self._settings,
            k,
            pace=self._faults.pace_token,
        )
        async for item in events:
            if isinstance(item, ChatEvent):
                yield event_message(item)


@dataclass
class RagGrpcServer:
    """A started RagService server and its health service."""

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int

    async def mark_serving(self) -> None:
        """Report RagService as SERVING to health checks."""
        await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace_seconds: float) -> None:
        """Report NOT_SERVING, then stop, letting in-flight calls finish within the grace."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_seconds)


async def start_grpc_server(bind: str, token: str, servicer: RagServicer) -> RagGrpcServer:
    """Start RagService (token-protected), health and reflection on ``bind``."""
    server = grpc.aio.server(
        interceptors=[
            AioServiceTokenServerInterceptor(token),
            AioMalformedRequestServerInterceptor(),
        ],
        # Past this many calls at once the server answers RESOURCE_EXHAUSTED, not an ever
        # longer queue in front of the one event loop HTTP shares.
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    rag_pb2_grpc.add_RagServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        port = server.add_insecure_port(bind)
    except RuntimeError as error:
        raise GrpcBindError(f"cannot listen on {bind} (RAG_GRPC_BIND): is it in use?") from error
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
    return RagGrpcServer(server, health_servicer, port)
