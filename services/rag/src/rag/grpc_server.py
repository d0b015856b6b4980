"""RagService over gRPC: the same index and ranking as ``GET /api/search``, for other services.

The server is a ``grpc.aio`` server: it runs in the event loop of the HTTP app (see ``rag.main``).
Every call needs the service token except the standard health service, whose ``RagService``
status turns SERVING once the knowledge base has been synced (like ``/healthz``).
"""

from dataclasses import dataclass

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from strangler_contracts.rag.v1 import rag_pb2, rag_pb2_grpc
from strangler_shared import AioServiceTokenServerInterceptor

from rag.config import MAX_K, MAX_QUERY_CHARS
from rag.retrieval.index import ArticleIndex

SERVICE_NAME = rag_pb2.DESCRIPTOR.services_by_name["RagService"].full_name


class GrpcBindError(RuntimeError):
    """The gRPC server could not listen on its address."""


class RagServicer(rag_pb2_grpc.RagServiceServicer):
    """Search the shared article index."""

    def __init__(self, index: ArticleIndex, default_k: int) -> None:
        self._index = index
        self._default_k = default_k

    async def Search(
        self, request: rag_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> rag_pb2.SearchResponse:
        """Rank the articles for a query and return the best k."""
        k = request.k or self._default_k
        if not 1 <= k <= MAX_K:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"k must be in 1..{MAX_K}")
        query = request.query.strip()
        if not 1 <= len(query) <= MAX_QUERY_CHARS:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"query must be 1..{MAX_QUERY_CHARS} characters once stripped",
            )
        results = [
            rag_pb2.SearchResult(
                article_id=hit.article.id,
                slug=hit.article.slug,
                title=hit.article.title,
                snippet=hit.snippet,
                score=hit.score,
            )
            for hit in self._index.search(query, k)
        ]
        return rag_pb2.SearchResponse(results=results)


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


async def start_grpc_server(
    bind: str, token: str, index: ArticleIndex, default_k: int
) -> RagGrpcServer:
    """Start RagService (token-protected), health and reflection on ``bind``."""
    server = grpc.aio.server(interceptors=[AioServiceTokenServerInterceptor(token)])
    rag_pb2_grpc.add_RagServiceServicer_to_server(RagServicer(index, default_k), server)
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
