"""Fixtures of the knowledge app's tests: a stand-in RagService that core's client talks to."""

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from core.knowledge import rag_client
from core.knowledge.tests.rag_standin import StandInRag, serving


@pytest.fixture
def standin_rag(settings: Settings, service_token: str) -> Iterator[StandInRag]:
    """Serve a stand-in RagService and point core's client at it."""
    with serving(StandInRag(), service_token) as rag:
        settings.CORE_RAG_GRPC_TARGET = rag.target
        try:
            yield rag
        finally:
            rag_client.close_channels()
