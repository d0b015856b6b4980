"""The cycle collector's thresholds: set by the lifespan in each worker, restored at its end."""

import gc
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from rag.config import Settings
from rag.main import create_app

pytestmark = pytest.mark.anyio


async def test_the_lifespan_sets_the_thresholds_and_restores_them(
    core: Any, settings_for: Callable[..., Settings]
) -> None:
    before = gc.get_threshold()
    app = create_app(settings_for(core.target, gc_thresholds=(12_345, 7, 8)))
    async with app.router.lifespan_context(app):
        with anyio.fail_after(10):
            await app.state.sync.wait_ready()
        assert gc.get_threshold() == (12_345, 7, 8)
    assert gc.get_threshold() == before


def test_the_default_collects_the_young_generation_far_less_often_than_python() -> None:
    # Python's first threshold is 700: with hundreds of answers in flight, each young
    # collection scans objects that stay alive for the model's whole latency.
    assert Settings().gc_thresholds[0] >= 10 * 700


def test_thresholds_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_GC_THRESHOLDS", "[0, 10, 10]")
    assert Settings().gc_thresholds == (0, 10, 10)
    monkeypatch.setenv("RAG_GC_THRESHOLDS", "[-1, 10, 10]")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()
