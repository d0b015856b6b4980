"""The guided tour runs to its end on the real stack, and every stop shows its evidence."""

import re

import pytest
from devstack import Stack
from devstack._tour import Tour, TourSettings

pytestmark = pytest.mark.stack

TRACE = re.compile(r"/traces/trace/[0-9a-f]{32}")


def test_the_tour_walks_every_stop_and_puts_the_table_back(stack: Stack) -> None:
    before = stack.config.routes.read_text()
    said: list[str] = []
    tour = Tour(stack, said.append, TourSettings(users=60, shadow_requests=5), lambda: None)
    stops = {stop.name: stop.evidence for stop in tour.run()}
    assert list(stops) == ["legacy", "shadow", "canary", "fallback", "edges", "way_back"]
    assert stops["legacy"]["served by"] == "core" and TRACE.search(stops["legacy"]["trace"])
    assert "legacy 200, new 500" in stops["shadow"]["a real diff"]
    assert TRACE.search(stops["shadow"]["trace"])
    assert "on legacy" in stops["canary"]["users"] and stops["canary"]["split check"].startswith(
        "ok"
    )
    assert "from core" in stops["fallback"]["with rag stopped"]
    assert "rag → core (grpc)" in stops["edges"]["edges"]
    assert "core → rag (http)" in stops["edges"]["edges"]
    assert stops["way_back"]["served by"] == "core"
    assert any("The route table is back" in line for line in said)
    assert stack.config.routes.read_text() == before
