"""How the app includes its routers: one level deep, the health probe first, then the chat route.

Since FastAPI 0.137 every request walks the tree of included routers (and the OpenTelemetry
instrumentation walks it again to name the span), so its shape is a cost paid per request.
"""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from rag.main import create_app

pytestmark = pytest.mark.usefixtures("service_token")


def _included(app: FastAPI) -> list[Any]:
    # An included router is a node with the router it wraps; plain routes have none.
    return [route for route in app.routes if hasattr(route, "original_router")]


def test_every_router_is_included_by_the_app_itself() -> None:
    app = create_app()

    included = _included(app)

    assert len(included) >= 6
    for node in included:
        nested = [r for r in node.original_router.routes if hasattr(r, "original_router")]
        assert nested == [], "a router included in another is walked one level deeper"


def _api_routes(node: Any) -> list[APIRoute]:
    return [r for r in node.original_router.routes if isinstance(r, APIRoute)]


def _paths(node: Any) -> list[tuple[str, set[str] | None]]:
    return [(r.path, r.methods) for r in _api_routes(node)]


def test_the_health_probe_is_matched_first_and_the_chat_route_next() -> None:
    app = create_app()

    [first, second, *_] = _included(app)

    # A probe walks no other router; the chat route walks only the probe's one route.
    assert _paths(first) == [("/healthz", {"GET"})]
    assert _paths(second) == [("/api/chat", {"POST"})]


def test_the_health_probe_has_no_dependency_to_solve() -> None:
    app = create_app()

    [probe] = _api_routes(_included(app)[0])

    # Solving two was about 40 % of a probe's time in process.
    assert probe.dependant.dependencies == []
