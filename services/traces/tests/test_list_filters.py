"""The trace list beyond a crowd of identical rows: by side, without the gateway's own traffic,
errors first or slowest first."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tracestore.app import create_app
from tracestore.models import SpanRecord, TraceFilter
from tracestore.store import TraceStore

SpanFactory = Callable[..., SpanRecord]
HEALTH, CONSOLE, LEGACY, NEW, SLOW, FAILED, SESSION = (f"{n:032x}" for n in range(1, 8))


def _gateway(make_span: SpanFactory, trace_id: str, path: str, start: float, end: float,
             status: str = "UNSET", **decision: Any) -> SpanRecord:  # fmt: skip
    attributes = {"url.path": path, **{f"migration.{k}": v for k, v in decision.items()}}
    return make_span(trace_id, "1" * 16, None, name=f"GET {path}", service="gateway",
                     start_ms=start, end_ms=end, status=status, attributes=attributes)  # fmt: skip


@pytest.fixture
def store(tmp_path: Path, make_span: SpanFactory) -> Iterator[TraceStore]:
    with TraceStore(tmp_path / "t.sqlite3") as opened:
        opened.insert([
            _gateway(make_span, HEALTH, "/healthz", 0, 1),
            _gateway(make_span, CONSOLE, "/console/routes/search", 10, 11),
            # The console's session check: core's own trace, started by the gateway's subrequest.
            make_span(SESSION, "2" * 16, None, name="GET internal/auth/session", service="core",
                      start_ms=12, end_ms=13),
            _gateway(make_span, LEGACY, "/api/search", 20, 30, route="search", target="legacy"),
            _gateway(make_span, NEW, "/api/search", 40, 45, route="search", target="new"),
            _gateway(make_span, SLOW, "/api/search", 50, 950, route="search", target="new"),
            _gateway(make_span, FAILED, "/api/chat", 60, 65, "ERROR", route="chat",
                     target="legacy"),
        ])  # fmt: skip
        yield opened


def _ids(store: TraceStore, **filters: Any) -> list[str]:
    return [s.trace_id for s in store.recent_traces(20, TraceFilter(**filters))]


def test_by_side(store: TraceStore) -> None:
    assert _ids(store, side="new") == [SLOW, NEW]
    assert _ids(store, side="legacy", route="search") == [LEGACY]


def test_the_gateways_own_traffic_can_be_left_out(store: TraceStore) -> None:
    assert {HEALTH, CONSOLE, SESSION} <= set(_ids(store))
    assert _ids(store, hide_internal=True) == [FAILED, SLOW, NEW, LEGACY]


def test_errors_first_and_slowest_first(store: TraceStore) -> None:
    assert _ids(store, order="errors")[0] == FAILED
    assert _ids(store, order="slowest")[:2] == [SLOW, LEGACY]


def test_the_list_page_hides_the_gateways_traffic_unless_asked(store: TraceStore) -> None:
    with TestClient(create_app(store)) as client:
        page = client.get("/traces/", params={"sort": "slowest"}).text
        shown = client.get("/traces/", params={"internal": "show"}).text
        api = client.get("/api/traces").json()["traces"]
        refused = client.get("/api/traces", params={"side": "both"})
    assert HEALTH not in page and CONSOLE not in page
    assert page.index(SLOW) < page.index(LEGACY) < page.index(NEW)
    assert HEALTH in shown and CONSOLE in shown
    assert {HEALTH, CONSOLE} <= {trace["trace_id"] for trace in api}, "the API shows everything"
    assert refused.status_code == 422 and "side must be legacy or new" in refused.text
