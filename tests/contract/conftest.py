"""The contract suite runs unchanged against the legacy (core) and the new (rag) implementation."""

from collections.abc import Iterator

import httpx
import pytest
from devstack import Stack


@pytest.fixture(params=["core", "rag"])
def api(request: pytest.FixtureRequest, stack: Stack) -> Iterator[httpx.Client]:
    """A client for one implementation of the public API, talking to it directly."""
    port = {"core": stack.config.ports.core_http, "rag": stack.config.ports.rag_http}[request.param]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        client.headers["x-expected-service"] = request.param
        yield client
