"""rag's side of the CoreService contract: the only way rag learns anything from the monolith.

gRPC status codes become specific exceptions here, so routes and the sync loop never handle
``grpc.aio.AioRpcError`` themselves.
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

import grpc
import grpc.aio
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc

from rag.retrieval.articles import Article, Change, Deletion

# Codes that mean "core is not there right now", as opposed to "core said no".
UNAVAILABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class CoreError(Exception):
    """Core answered a call with an error rag cannot act on."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"core answered {code.name}: {details}")
        self.code = code
        self.details = details


class CoreUnavailableError(CoreError):
    """Core could not be reached or did not answer in time."""


class CustomerNotFoundError(Exception):
    """Core has no customer with the requested id."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"customer {customer_id} does not exist")
        self.customer_id = customer_id


def _translate(error: grpc.aio.AioRpcError) -> CoreError:
    code, details = error.code(), error.details() or ""
    if code in UNAVAILABLE_CODES:
        return CoreUnavailableError(code, details)
    return CoreError(code, details)


@dataclass(frozen=True, slots=True)
class ReceivedChange:
    """One change of core's feed: what changed, when (Unix seconds; 0 if unknown), resume cursor."""

    change: Change
    changed_at: float
    cursor: str


def change_from_proto(change: core_pb2.ArticleChange) -> Change:
    """Turn one streamed ArticleChange into an index change."""
    article = change.article
    if change.deleted:
        return Deletion(article.id)
    return Article(article.id, article.slug, article.title, article.body, tuple(article.tags))


class CoreClient:
    """Calls to core's CoreService over one shared, authenticated channel."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_seconds: float) -> None:
        self._stub = core_pb2_grpc.CoreServiceStub(channel)
        self._timeout = timeout_seconds

    async def get_customer(self, customer_id: int) -> core_pb2.Customer:
        """Fetch one customer with its billing state."""
        request = core_pb2.GetCustomerRequest(id=customer_id)
        try:
            customer: core_pb2.Customer = await self._stub.GetCustomer(
                request, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise CustomerNotFoundError(customer_id) from error
            raise _translate(error) from error
        return customer

    async def list_articles(
        self, cursor: str, *, timeout_seconds: float
    ) -> AsyncGenerator[ReceivedChange, None]:
        """Stream the knowledge base's changes after ``cursor``, each with its resume cursor."""
        call = self._stub.ListArticles(
            core_pb2.ListArticlesRequest(cursor=cursor), timeout=timeout_seconds
        )
        try:
            async for change in call:
                stamp = change.article.updated_at
                changed_at = stamp.seconds + stamp.nanos / 1e9
                yield ReceivedChange(change_from_proto(change), changed_at, change.cursor)
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        finally:
            call.cancel()
