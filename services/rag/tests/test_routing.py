"""How the app includes its routers: one level deep, the chat route's router first.

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


def test_the_chat_route_is_the_first_one_a_request_is_matched_against() -> None:
    app = create_app()

    [first, *_] = _included(app)

    routes = [r for r in first.original_router.routes if isinstance(r, APIRoute)]
    assert [(r.path, r.methods) for r in routes] == [("/api/chat", {"POST"})]
