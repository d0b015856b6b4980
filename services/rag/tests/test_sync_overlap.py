"""A change that commits late (older timestamp than the cursor) still reaches rag.

Core orders its feed by ``updated_at``, stamped before commit; this stand-in reproduces that: its
cursor is a (timestamp, id) position and a late writer can insert below it.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from rag.core_client import CoreClient
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import KnowledgeBaseSync
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import open_aio_channel

pytestmark = pytest.mark.anyio


class TimestampedCore(core_pb2_grpc.CoreServiceServicer):
    """A feed ordered by (changed_at, id), as core's is; cursors are ``"<time>:<id>"``."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, int, str]] = []
        self.cursors_requested: list[str] = []

    def write(self, changed_at: float, article_id: int, title: str) -> None:
        """Record an article as committed with this timestamp."""
        self.changes = [c for c in self.changes if c[1] != article_id]
        self.changes.append((changed_at, article_id, title))
        self.changes.sort()

    def ListArticles(
        self, request: core_pb2.ListArticlesRequest, context: grpc.ServicerContext
    ) -> Iterator[core_pb2.ArticleChange]:
        self.cursors_requested.append(request.cursor)
        after = tuple(map(float, request.cursor.split(":"))) if request.cursor else (-1.0, -1)
        for changed_at, article_id, title in self.changes:
            if (changed_at, article_id) <= after:
                continue
            stamp = Timestamp(seconds=int(changed_at), nanos=int(changed_at % 1 * 1e9))
            article = core_pb2.Article(
                id=article_id, slug=f"a{article_id}", title=title, body=title, updated_at=stamp
            )
            yield core_pb2.ArticleChange(article=article, cursor=f"{changed_at}:{article_id}")


@pytest.fixture
def timestamped() -> TimestampedCore:
    return TimestampedCore()


@pytest.fixture
async def channel(
    core_factory: Any, timestamped: TimestampedCore, service_token: str
) -> AsyncIterator[grpc.aio.Channel]:
    running = core_factory(timestamped)
    async with open_aio_channel(running.target, service_token) as aio_channel:
        yield aio_channel


def _sync(channel: grpc.aio.Channel, index: ArticleIndex, overlap: float) -> KnowledgeBaseSync:
    return KnowledgeBaseSync(
        CoreClient(channel, timeout_seconds=2),
        index,
        interval_seconds=0.05,
        stream_timeout_seconds=5,
        retry_initial_seconds=0.05,
        retry_max_seconds=0.2,
        overlap_seconds=overlap,
        clock=lambda: 1003.0,
    )


async def test_a_late_commit_inside_the_overlap_is_picked_up(
    channel: grpc.aio.Channel, timestamped: TimestampedCore
) -> None:
    timestamped.write(900.0, 1, "settled long ago")
    timestamped.write(1000.0, 2, "alpha")
    timestamped.write(1002.0, 3, "gamma")
    index = ArticleIndex()
    sync = _sync(channel, index, overlap=5)
    assert await sync.pull_once() == 3
    timestamped.write(1001.0, 4, "beta")  # stamped before 3, committed after rag read 3
    assert await sync.pull_once() == 1
    assert index.get(4) is not None
    # Only the window was read again, and the two re-read changes did not count.
    assert timestamped.cursors_requested == ["", "900.0:1"]


async def test_without_overlap_the_late_commit_would_be_missed(
    channel: grpc.aio.Channel, timestamped: TimestampedCore
) -> None:
    timestamped.write(1000.0, 2, "alpha")
    timestamped.write(1002.0, 3, "gamma")
    index = ArticleIndex()
    sync = _sync(channel, index, overlap=0)
    await sync.pull_once()
    timestamped.write(1001.0, 4, "beta")
    assert await sync.pull_once() == 0
    assert index.get(4) is None
