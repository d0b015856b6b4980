"""Shadow mode through nginx: users get legacy; sampled reads are mirrored to the comparator.

A recording double stands in for the comparator (its own tests are in tests/shadow): these check
what the gateway sends it and that the user never depends on it.
"""

import http.client
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
from strangler_testing import route, route_table
from strangler_testing.gateway import EchoUpstream, RunningGateway, fetch, running_gateway


def _table(percent: int) -> str:
    search = route("search", "/api/search", legacy="monolith", new="service", compare="search")
    return route_table(
        ["monolith", "service", "shadow"],
        [
            {**search, "mode": "shadow", "percent": percent},
            # Mirrors everything: a request to it on the same connection is a barrier, because
            # nginx finishes a request's mirror before it reads the connection's next request.
            route("probe", "/probe", legacy="monolith", new="service", mode="shadow", percent=100),
        ],
    )


Start = Callable[[int], RunningGateway]


@pytest.fixture
def start(tmp_path: Path, upstreams: dict[str, EchoUpstream]) -> Iterator[Start]:
    """Return a function running a gateway whose search route mirrors ``percent`` % of reads."""
    with ExitStack() as stack:

        def run(percent: int) -> RunningGateway:
            table = tmp_path / "routes.toml"
            table.write_text(_table(percent))
            servers = {name: [up.address] for name, up in upstreams.items() if name != "traces"}
            return stack.enter_context(running_gateway(table, tmp_path / "nginx", servers))

        yield run


def _connection(gateway: RunningGateway) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=10)


def _mirrored(shadow: EchoUpstream, route: str) -> list[dict[str, object]]:
    return [r for r in shadow.requests() if r["headers"]["x-shadow-route"] == route]


def _barrier(
    gateway: RunningGateway, connection: http.client.HTTPConnection, shadow: EchoUpstream
) -> None:
    """Return once every request sent on ``connection`` so far has had its mirror delivered."""
    probes = len(_mirrored(shadow, "probe")) + 1
    fetch(gateway.url, "/probe", connection=connection)
    deadline = time.monotonic() + 5
    while len(_mirrored(shadow, "probe")) < probes:
        assert time.monotonic() < deadline, "the probe's mirror never arrived"
        time.sleep(0.01)


def test_users_get_legacy_and_the_comparator_gets_the_request(
    start: Start, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = start(100)
    reply = gateway.fetch("/api/search?q=refund&k=3", headers={"baggage": "tenant=acme"})
    assert (reply.status, reply.json()["upstream"], reply.headers["x-served-by"]) == (
        200,
        "legacy",
        "legacy",
    )
    (mirror,) = upstreams["shadow"].wait_for(1)
    legacy_saw = reply.json()["headers"]
    assert (mirror["method"], mirror["path"], mirror["body"]) == ("GET", "/compare", "")
    headers = mirror["headers"]
    assert headers["x-shadow-route"] == "search"
    assert headers["x-shadow-uri"] == "/api/search?q=refund&k=3"
    assert headers["x-shadow-method"] == "GET"
    for name in ("traceparent", "baggage", "x-request-id"):
        assert headers[name] == legacy_saw[name], name
    assert "migration.mode=shadow" in headers["baggage"]
    assert upstreams["service"].requests() == [], "the gateway never sends users to new"


def test_only_reads_are_mirrored(start: Start, upstreams: dict[str, EchoUpstream]) -> None:
    gateway = start(100)
    with closing(_connection(gateway)) as connection:
        for method in ("POST", "PUT", "DELETE"):
            reply = fetch(
                gateway.url, "/api/search", method=method, body=b"{}", connection=connection
            )
            assert reply.json()["upstream"] == "legacy"
        fetch(gateway.url, "/api/search?q=x", method="HEAD", connection=connection)
        _barrier(gateway, connection, upstreams["shadow"])
    methods = [m["headers"]["x-shadow-method"] for m in _mirrored(upstreams["shadow"], "search")]  # type: ignore[index]
    assert methods == ["HEAD"]


def test_the_percent_caps_the_share_of_mirrored_requests(
    start: Start, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = start(30)
    with closing(_connection(gateway)) as connection:
        for number in range(1000):
            fetch(gateway.url, f"/api/search?q={number}", connection=connection)
        _barrier(gateway, connection, upstreams["shadow"])
    share = len(_mirrored(upstreams["shadow"], "search")) / 1000
    # Sampled per request: binomial(1000, 0.3) stays within 0.25..0.35 with overwhelming odds.
    assert 0.25 <= share <= 0.35, f"mirrored {share:.1%}, configured 30%"


def test_percent_zero_mirrors_nothing(start: Start, upstreams: dict[str, EchoUpstream]) -> None:
    gateway = start(0)
    with closing(_connection(gateway)) as connection:
        for number in range(50):
            fetch(gateway.url, f"/api/search?q={number}", connection=connection)
        _barrier(gateway, connection, upstreams["shadow"])
    assert _mirrored(upstreams["shadow"], "search") == []


def test_a_comparator_that_is_down_does_not_touch_users(
    start: Start, upstreams: dict[str, EchoUpstream]
) -> None:
    gateway = start(100)
    upstreams["shadow"].stop()
    for number in range(20):
        reply = gateway.fetch(f"/api/search?q={number}")
        assert (reply.status, reply.json()["upstream"]) == (200, "legacy")
    lines = gateway.access_log_entries(at_least=20)
    assert {line["status"] for line in lines} == {200}
    assert {line["upstream_addr"] for line in lines} == {upstreams["monolith"].address}
