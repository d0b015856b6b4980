"""The read API the browser waterfall and the cross-service tests poll."""

from __future__ import annotations

from typing import Any

import httpx
from tracestore.store import TraceStore

TRACE_A = "a" * 31 + "1"
TRACE_B = "b" * 31 + "2"


def _seed(db_path: Any, make_span: Any) -> None:
    with TraceStore(db_path) as store:
        store.insert(
            [
                make_span(
                    TRACE_A, "1" * 16, None, name="GET /a", service="core", start_ms=0, end_ms=30
                ),
                make_span(
                    TRACE_A,
                    "2" * 16,
                    "1" * 16,
                    name="GET /rag",
                    service="rag",
                    start_ms=5,
                    end_ms=20,
                ),
                make_span(
                    TRACE_B,
                    "3" * 16,
                    None,
                    name="POST /hook",
                    service="webhooks",
                    start_ms=100,
                    end_ms=104,
                    status="ERROR",
                ),
            ]
        )


def test_healthz_answers_ok_with_service_header(running_store: Any) -> None:
    response = httpx.get(f"{running_store.base_url}/healthz")

    assert response.json() == {"status": "ok"}
    assert response.headers["x-service"] == "traces"


def test_recent_traces_newest_first_with_summary(running_store: Any, make_span: Any) -> None:
    _seed(running_store.db_path, make_span)

    traces = httpx.get(f"{running_store.base_url}/api/traces").json()["traces"]

    assert [t["trace_id"] for t in traces] == [TRACE_B, TRACE_A]
    newest, oldest = traces
    assert (newest["root_service"], newest["root_name"], newest["error"]) == (
        "webhooks",
        "POST /hook",
        True,
    )
    assert oldest["services"] == ["core", "rag"]
    assert (oldest["span_count"], oldest["duration_ms"], oldest["error"]) == (2, 30.0, False)


def test_recent_traces_filter_by_service_and_limit(running_store: Any, make_span: Any) -> None:
    _seed(running_store.db_path, make_span)
    url = f"{running_store.base_url}/api/traces"

    by_rag = httpx.get(url, params={"service": "rag"}).json()["traces"]
    limited = httpx.get(url, params={"limit": 1}).json()["traces"]

    assert [t["trace_id"] for t in by_rag] == [TRACE_A]
    assert [t["trace_id"] for t in limited] == [TRACE_B]


def test_bad_limit_is_422_validation_error(running_store: Any) -> None:
    response = httpx.get(f"{running_store.base_url}/api/traces", params={"limit": "0"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "limit" in response.json()["error"]["fields"]


def test_trace_spans_are_ordered_by_start(running_store: Any, make_span: Any) -> None:
    _seed(running_store.db_path, make_span)

    body = httpx.get(f"{running_store.base_url}/api/traces/{TRACE_A.upper()}").json()

    assert body["trace_id"] == TRACE_A
    assert [span["name"] for span in body["spans"]] == ["GET /a", "GET /rag"]
    assert body["spans"][1]["duration_ms"] == 15.0


def test_unknown_trace_is_404_and_malformed_id_is_422(running_store: Any) -> None:
    unknown = httpx.get(f"{running_store.base_url}/api/traces/{'c' * 32}")
    malformed = httpx.get(f"{running_store.base_url}/api/traces/xyz")

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (422, "validation_error")


def test_unknown_route_and_method_use_the_error_envelope(running_store: Any) -> None:
    missing = httpx.get(f"{running_store.base_url}/nope")
    wrong_method = httpx.get(f"{running_store.base_url}/v1/traces")

    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (
        405,
        "method_not_allowed",
    )
