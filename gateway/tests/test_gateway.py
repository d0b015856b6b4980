"""Real requests through a real nginx rendered from the table, to stand-in upstreams."""

import http.client
import re

from strangler_gateway.nginx.process import apply
from strangler_testing.gateway import EchoUpstream, RunningGateway, fetch

from .conftest import CANARY_30, MakeGateway


def _sides(gateway: RunningGateway, keys: list[str], header: str) -> dict[str, str]:
    """Return the side that served each key, over one kept-alive connection."""
    conn = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=10)
    try:
        sides = {}
        for key in keys:
            value = f"sf_uid={key}" if header == "Cookie" else key
            reply = fetch(gateway.url, "/api/search?q=x", headers={header: value}, connection=conn)
            assert reply.json()["upstream"] == reply.headers["x-served-by"]
            sides[key] = reply.headers["x-served-by"]
        return sides
    finally:
        conn.close()


def test_a_legacy_route_goes_to_the_legacy_upstream(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    reply = gateway.fetch("/api/search?q=invoice")
    assert reply.status == 200
    assert reply.json()["upstream"] == "legacy"
    assert reply.json()["path"] == "/api/search?q=invoice"
    assert reply.headers["x-served-by"] == "legacy"
    assert reply.headers["x-route"] == "search"
    assert 0 <= int(reply.headers["x-migration-bucket"]) < 100


def test_canary_100_sends_everyone_to_new(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 100')
    for user in ("ana", "bo", "cy"):
        reply = gateway.fetch("/api/search?q=x", headers={"Cookie": f"sf_uid={user}"})
        assert reply.json()["upstream"] == "new"
        assert reply.headers["x-served-by"] == "new"


def test_canary_30_is_sticky_and_close_to_30_percent(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(CANARY_30)
    keys = [f"user-{n}" for n in range(1000)]
    first = _sides(gateway, keys, "Cookie")
    share = sum(side == "new" for side in first.values()) / len(keys)
    assert 0.25 <= share <= 0.35, f"observed {share:.1%} on new, configured 30%"
    assert _sides(gateway, keys, "Cookie") == first, "a user changed sides between requests"


def test_the_user_header_is_a_sticky_key_too(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(CANARY_30)
    keys = [f"header-user-{n}" for n in range(200)]
    first = _sides(gateway, keys, "X-User-Id")
    assert set(first.values()) == {"legacy", "new"}
    assert _sides(gateway, keys, "X-User-Id") == first


def test_requests_without_a_key_are_split_one_by_one(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 50')
    sides = {gateway.fetch("/api/search?q=x").headers["x-served-by"] for _ in range(100)}
    assert sides == {"legacy", "new"}


def test_the_override_header_forces_either_side(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(CANARY_30)
    for side in ("legacy", "new"):
        for user in range(20):
            headers = {"X-Migration-Target": side, "Cookie": f"sf_uid=u{user}"}
            reply = gateway.fetch("/api/search?q=x", headers=headers)
            assert reply.json()["upstream"] == side
            assert reply.headers["x-served-by"] == side


def test_routes_without_override_ignore_the_header(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    reply = gateway.fetch("/webhooks/stripe", method="POST", body=b"{}",
                          headers={"X-Migration-Target": "legacy"})  # fmt: skip
    assert (reply.json()["upstream"], reply.json()["method"]) == ("new", "POST")
    assert reply.headers["x-route"] == "hooks"
    retired = gateway.fetch("/api/old", headers={"X-Migration-Target": "legacy"})
    assert retired.headers["x-served-by"] == "new"


def test_an_exact_route_claims_one_path_only(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    assert gateway.fetch("/api/old").headers["x-route"] == "gone"
    assert gateway.fetch("/api/old/more").headers["x-route"] == "catch-all"


def test_unlisted_paths_go_to_the_monolith(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 100')
    reply = gateway.fetch("/api/customers/1", headers={"X-Migration-Target": "new"})
    assert reply.json()["upstream"] == "legacy"
    assert reply.headers["x-served-by"] == "legacy"
    assert reply.headers["x-route"] == "catch-all"


def test_internal_paths_are_never_exposed(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    for path in ("/internal/customers/1/suggestions", "/internal", "/api/../internal/x"):
        reply = gateway.fetch(path)
        assert reply.status == 404, path
        assert reply.json()["error"]["code"] == "not_found"
        assert reply.headers["content-type"] == "application/json"


def test_the_gateway_decides_the_decision_headers(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    reply = gateway.fetch("/api/search?q=x")
    assert reply.headers["x-served-by"] == "legacy", "the upstream's own copy must be hidden"
    assert reply.headers["x-migration-fallback"] == "false"
    assert reply.headers["x-service"] == "legacy"
    assert reply.headers["x-request-id"] == reply.json()["headers"]["x-request-id"]


def test_a_retired_route_serves_new_only(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "retired"')
    for user in range(20):
        reply = gateway.fetch("/api/search?q=x", headers={"X-User-Id": f"u{user}"})
        assert (reply.json()["upstream"], reply.headers["x-served-by"]) == ("new", "new")


def test_the_override_can_be_switched_off_per_route(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "migrated"')
    forced = gateway.fetch("/api/search?q=x", headers={"X-Migration-Target": "legacy"})
    assert forced.headers["x-served-by"] == "legacy"
    text = gateway.table_path.read_text().replace("override = true", "override = false")
    gateway.table_path.write_text(text)
    apply(gateway.table_path, gateway.prefix)
    ignored = gateway.fetch("/api/search?q=x", headers={"X-Migration-Target": "legacy"})
    assert ignored.headers["x-served-by"] == "new"


def test_the_gateway_answers_its_own_paths(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway('mode = "legacy"')
    assert gateway.fetch("/__gateway/status").json()["status"] == "ok"
    unknown = gateway.fetch("/__gateway/anything")
    assert (unknown.status, unknown.json()["error"]["code"]) == (404, "not_found")
    assert upstreams["monolith"].requests() == [], "the monolith never sees the gateway's paths"


def test_the_trace_viewer_is_served_under_traces(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway('mode = "legacy"')
    page = gateway.fetch("/traces/api/traces?route=search")
    assert (page.status, page.json()["upstream"]) == (200, "traces")
    assert page.json()["path"] == "/traces/api/traces?route=search", "the path is kept as is"
    bare = gateway.fetch("/traces")
    assert (bare.status, bare.headers["location"].endswith("/traces/")) == (301, True)
    gateway.fetch("/api/search?q=after")
    lines = gateway.access_log_entries(at_least=1)
    assert [line["uri"] for line in lines] == ["/api/search?q=after"], "viewing is not traffic"


def test_proxy_headers_reach_the_upstream(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    seen = gateway.fetch("/api/search?q=x").json()["headers"]
    assert re.fullmatch(r"[0-9a-f]{32}", seen["x-request-id"])
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["host"] == "127.0.0.1"
    assert "connection" not in seen or seen["connection"].lower() != "close"


def test_an_unreachable_upstream_answers_with_the_error_envelope(
    make_gateway: MakeGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = make_gateway('mode = "legacy"')
    upstreams["service"].stop()
    reply = gateway.fetch("/api/search?q=x", headers={"X-Migration-Target": "new"})
    assert reply.status == 502
    assert reply.json()["error"]["code"] == "upstream_unavailable"
    assert reply.headers["x-served-by"] == "gateway"


def test_large_bodies_pass_both_ways(make_gateway: MakeGateway) -> None:
    # Bigger than every in-memory buffer: nginx spills both to temp files under the prefix.
    gateway = make_gateway('mode = "legacy"')
    body = b"y" * 400_000
    reply = gateway.fetch("/api/customers", method="POST", body=body)
    assert reply.status == 200
    assert reply.json()["body"] == body.decode()


def test_a_body_over_the_gateway_limit_is_a_413_in_the_envelope(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    body = b"z" * (11 * 1024 * 1024)  # the table's client_max_body_size is 10m

    reply = gateway.fetch("/api/customers", method="POST", body=body)

    assert reply.status == 413
    assert reply.json()["error"]["code"] == "payload_too_large"
    assert reply.headers["x-served-by"] == "gateway"
