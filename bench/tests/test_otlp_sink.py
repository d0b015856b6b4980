"""The bench's trace backend outside the project: it accepts OTLP/HTTP exports and keeps nothing."""

import httpx
from strangler_bench.apps import otlp_sink
from strangler_testing.servers import serve_in_thread


def test_an_export_is_accepted_as_a_collector_accepts_a_whole_batch_and_counted() -> None:
    with serve_in_thread(otlp_sink.app) as url, httpx.Client(base_url=url) as client:
        before = client.get("/received").json()
        answer = client.post(
            "/v1/traces",
            content=b"\x0a\x00" * 600,
            headers={"Content-Type": "application/x-protobuf"},
        )
        after = client.get("/received").json()
        missing = client.get("/v1/metrics")
        healthz = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    # An empty ExportTraceServiceResponse: no partial success, no bytes.
    assert answer.content == b""
    assert after == {"exports": before["exports"] + 1, "bytes": before["bytes"] + 1200}
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert healthz.json() == {"status": "ok"}
