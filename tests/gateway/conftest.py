"""Gateway suites against the real stack: each module leaves the route table as it found it."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devstack import Stack
from strangler_gateway.routetable import load_route_table
from strangler_testing.gateway import read_access_log


@pytest.fixture(scope="module")
def restore_routes(stack: Stack) -> Iterator[None]:
    """Put every route back in the mode it had before the module's tests moved it."""
    before = load_route_table(stack.config.routes).routes
    yield
    now = {route.name: route for route in load_route_table(stack.config.routes).routes}
    for route in before:
        if (now[route.name].mode, now[route.name].percent) != (route.mode, route.percent):
            stack.set_route(route.name, route.mode, route.percent)


@pytest.fixture(scope="module")
def access_log(stack: Stack) -> Path:
    """The stack gateway's JSON access log."""
    return stack.config.nginx_prefix / "logs" / "access.log"


def log_line(access_log: Path, request_id: str, *, seconds: float = 5.0) -> dict[str, Any]:
    """Return the access-log line of one request (nginx writes it just after the response)."""
    deadline = time.monotonic() + seconds
    while True:
        found = [line for line in read_access_log(access_log) if line["request_id"] == request_id]
        if found or time.monotonic() > deadline:
            assert found, f"no access-log line for request {request_id}"
            return found[0]
        time.sleep(0.02)
