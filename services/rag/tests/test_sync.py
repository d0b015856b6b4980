"""The knowledge-base sync against a real gRPC CoreService on a free port."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import grpc.aio
import pytest
from rag.core_client import CoreClient, CoreUnavailableError
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import KnowledgeBaseSync
from strangler_shared import open_aio_channel

pytestmark = pytest.mark.anyio


def _sync(channel: grpc.aio.Channel, index: ArticleIndex) -> KnowledgeBaseSync:
    return KnowledgeBaseSync(
        CoreClient(channel, timeout_seconds=2),
        index,
        interval_seconds=0.05,
        stream_timeout_seconds=5,
        retry_initial_seconds=0.05,
        retry_max_seconds=0.2,
    )


@pytest.fixture
async def channel(core: Any, service_token: str) -> AsyncIterator[grpc.aio.Channel]:
    async with open_aio_channel(core.target, service_token) as aio_channel:
        yield aio_channel


async def test_full_sync_copies_every_article(core: Any, channel: grpc.aio.Channel) -> None:
    index = ArticleIndex()
    sync = _sync(channel, index)
    assert await sync.pull_once() == 4
    assert len(index) == 4
    assert sync.cursor == "4"
    assert core.servicer.cursors_requested == [""]
    assert [hit.article.slug for hit in index.search("forgot password", 5)] == ["reset-password"]


async def test_incremental_pull_applies_updates_after_the_cursor(
    core: Any, channel: grpc.aio.Channel
) -> None:
    index = ArticleIndex()
    sync = _sync(channel, index)
    await sync.pull_once()
    core.servicer.put_article(1, "reset-password", "Reset your passphrase", "Use a passphrase.")
    core.servicer.put_article(5, "sso", "Single sign-on", "Log in with your identity provider.")
    assert await sync.pull_once() == 2
    assert core.servicer.cursors_requested == ["", "4"]
    assert index.get(1).title == "Reset your passphrase"  # type: ignore[union-attr]
    assert [hit.article.id for hit in index.search("identity provider", 5)] == [5]
    assert await sync.pull_once() == 0


async def test_a_tombstone_deletes_the_article(core: Any, channel: grpc.aio.Channel) -> None:
    index = ArticleIndex()
    sync = _sync(channel, index)
    await sync.pull_once()
    core.servicer.delete_article(2, "payment-failed")
    assert await sync.pull_once() == 1
    assert index.get(2) is None
    assert index.search("declined", 5) == []
    assert len(index) == 3


async def test_a_broken_stream_resumes_after_the_last_applied_change(
    core: Any, channel: grpc.aio.Channel
) -> None:
    index = ArticleIndex()
    sync = _sync(channel, index)
    core.servicer.break_next_stream_after = 2
    with pytest.raises(CoreUnavailableError):
        await sync.pull_once()
    assert sync.cursor == "2"
    assert sorted(article_id for article_id in (1, 2, 3, 4) if index.get(article_id)) == [1, 2]
    assert await sync.pull_once() == 2
    assert core.servicer.cursors_requested == ["", "2"]
    assert len(index) == 4


async def test_run_polls_and_becomes_ready(core: Any, channel: grpc.aio.Channel) -> None:
    index = ArticleIndex()
    sync = _sync(channel, index)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(sync.run)
        with anyio.fail_after(10):
            await sync.wait_ready()
        assert len(index) == 4
        core.servicer.put_article(6, "webhooks", "Webhooks", "Receive events at your endpoint.")
        with anyio.fail_after(10):
            while index.get(6) is None:
                await anyio.sleep(0.02)
        tasks.cancel_scope.cancel()
    assert sync.ready


async def test_run_retries_until_core_is_up(
    core_factory: Any,
    service_token: str,
    caplog: pytest.LogCaptureFixture,
    free_port_number: int,
) -> None:
    caplog.set_level(logging.WARNING, logger="rag.retrieval.sync")
    target = f"127.0.0.1:{free_port_number}"
    index = ArticleIndex()
    async with open_aio_channel(target, service_token) as aio_channel:
        sync = _sync(aio_channel, index)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sync.run)
            with anyio.fail_after(10):
                while not any("retrying" in r.getMessage() for r in caplog.records):
                    await anyio.sleep(0.02)
            assert not sync.ready
            core_factory(port=free_port_number)
            with anyio.fail_after(20):
                await sync.wait_ready()
            tasks.cancel_scope.cancel()
    assert len(index) == 4
    assert all(record.levelno == logging.WARNING for record in caplog.records)
