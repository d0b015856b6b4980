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
    short = TourSettings(users=60, shadow_requests=5, rollout_steps=(50,), rollout_interval=1.0)
    tour = Tour(stack, said.append, short, lambda: None)
    stops = {stop.name: stop.evidence for stop in tour.run()}
    assert list(stops) == ["legacy", "shadow", "canary", "rollout_fails", "rollout_completes",
                           "fallback", "edges", "way_back"]  # fmt: skip
    assert stops["legacy"]["served by"] == "core" and TRACE.search(stops["legacy"]["trace"])
    assert "legacy 200, new 500" in stops["shadow"]["a real diff"]
    assert TRACE.search(stops["shadow"]["trace"])
    assert "on legacy" in stops["canary"]["users"] and stops["canary"]["split check"].startswith(
        "ok"
    )
    failed = stops["rollout_fails"]
    assert failed["fault"] == "rag: 20% errors" and failed["outcome"].endswith("search is legacy")
    assert failed["ledger"].startswith("rolled_back at canary 50 %")
    assert "errors gate failed" in failed["ledger"] and failed["errors gate"].startswith("fail")
    assert TRACE.search(failed["trace"])
    completed = stops["rollout_completes"]
    assert completed["fault"] == "rag: no faults" and completed["steps passed"].startswith(
        "canary 50 %"
    )
    assert completed["ledger"].startswith("completed") and "is migrated" in completed["route"]
    assert "from core" in stops["fallback"]["with rag stopped"]
    assert "rag → core (grpc)" in stops["edges"]["edges"]
    assert "core → rag (http)" in stops["edges"]["edges"]
    assert stops["way_back"]["served by"] == "core"
    assert any("The route table is back" in line for line in said)
    assert stack.config.routes.read_text() == before
