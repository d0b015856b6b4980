"""OTLP/JSON ingestion over a real server: hex ids, every AnyValue kind, partial success."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx

TRACE_ID = "5B8EFFF798038103D269B633813FC60C"
PARENT_ID = "EEE19B7EC3C1B174"
CHILD_ID = "EEE19B7EC3C1B173"
LINKED_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
LINKED_SPAN_ID = "b7ad6b7169203331"
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _value(kind: str, value: Any) -> dict[str, Any]:
    return {kind: value}


def _payload(*, child_span_id: str = CHILD_ID) -> dict[str, Any]:
    """An export request shaped like the OTLP/JSON example of the specification."""
    child = {
        "traceId": TRACE_ID,
        "spanId": child_span_id,
        "parentSpanId": PARENT_ID,
        "name": "SELECT articles",
        "kind": 3,
        "startTimeUnixNano": "1544712660300000000",
        "endTimeUnixNano": "1544712660325000000",
        "attributes": [
            {"key": "db.system", "value": _value("stringValue", "sqlite")},
            {"key": "rows", "value": _value("intValue", "42")},
            {"key": "cached", "value": _value("boolValue", False)},
            {"key": "ratio", "value": _value("doubleValue", 0.25)},
            {"key": "raw", "value": _value("bytesValue", "aGVsbG8=")},
            {
                "key": "ids",
                "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "two"}]}},
            },
            {
                "key": "owner",
                "value": {
                    "kvlistValue": {"values": [{"key": "team", "value": {"stringValue": "kb"}}]}
                },
            },
        ],
        "events": [
            {
                "timeUnixNano": "1544712660310000000",
                "name": "rows fetched",
                "attributes": [{"key": "count", "value": {"intValue": "42"}}],
            }
        ],
        "links": [{"traceId": LINKED_TRACE_ID, "spanId": LINKED_SPAN_ID}],
        "status": {"code": 2, "message": "slow query"},
        "someFutureField": "ignored",
    }
    parent = {
        "traceId": TRACE_ID,
        "spanId": PARENT_ID,
        "name": "GET /api/search",
        "kind": 2,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "rag"}}]}
    scope_spans = {"scope": {"name": "tests.json"}, "spans": [parent, child]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [scope_spans]}]}


def _spans_by_name(base_url: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{base_url}/api/traces/{TRACE_ID.lower()}").json()
    return {span["name"]: span for span in body["spans"]}


def test_json_export_decodes_hex_ids_and_values(running_store: Any) -> None:
    response = httpx.post(
        f"{running_store.base_url}/v1/traces", json=_payload(), headers=JSON_HEADERS
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    spans = _spans_by_name(running_store.base_url)
    parent, child = spans["GET /api/search"], spans["SELECT articles"]
    assert (parent["span_id"], parent["parent_span_id"]) == (PARENT_ID.lower(), None)
    assert child["parent_span_id"] == PARENT_ID.lower()
    assert (parent["kind"], child["kind"], child["service_name"]) == ("SERVER", "CLIENT", "rag")
    assert child["duration_ms"] == 25.0
    assert child["status"] == {"code": "ERROR", "message": "slow query"}
    assert child["attributes"] == {
        "db.system": "sqlite",
        "rows": 42,
        "cached": False,
        "ratio": 0.25,
        "raw": "aGVsbG8=",
        "ids": [1, "two"],
        "owner": {"team": "kb"},
    }
    assert child["events"] == [
        {"name": "rows fetched", "time_unix_nano": 1544712660310000000, "attributes": {"count": 42}}
    ]
    assert child["links"] == [
        {"trace_id": LINKED_TRACE_ID, "span_id": LINKED_SPAN_ID, "attributes": {}}
    ]


def test_gzip_json_export_is_accepted(running_store: Any) -> None:
    response = httpx.post(
        f"{running_store.base_url}/v1/traces",
        content=gzip.compress(json.dumps(_payload()).encode()),
        headers={**JSON_HEADERS, "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert set(_spans_by_name(running_store.base_url)) == {"GET /api/search", "SELECT articles"}


def test_json_span_with_bad_id_is_rejected_as_partial_success(running_store: Any) -> None:
    response = httpx.post(
        f"{running_store.base_url}/v1/traces", json=_payload(child_span_id=""), headers=JSON_HEADERS
    )

    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert "span_id" in partial["errorMessage"]
    assert set(_spans_by_name(running_store.base_url)) == {"GET /api/search"}


def test_json_id_that_is_not_hex_is_400(running_store: Any) -> None:
    payload = _payload(child_span_id="not-hex!")

    response = httpx.post(f"{running_store.base_url}/v1/traces", json=payload, headers=JSON_HEADERS)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_otlp"
    assert "spanId" in error["message"]
