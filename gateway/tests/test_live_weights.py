"""A change of percentage is written into nginx's memory: no reload, no connection closed.

The route table stays the source of truth: the rendered config carries the percentages, so an
nginx started afresh serves what the table says, and every user keeps their bucket throughout.
"""

import http.client

from strangler_gateway.nginx.process import running_pid
from strangler_gateway.traffic.control import set_route_mode
from strangler_testing.gateway import RunningGateway

from .conftest import MakeGateway

USERS = [f"user-{n}" for n in range(300)]


def _side(connection: http.client.HTTPConnection, user: str) -> tuple[str, str]:
    connection.request("GET", "/api/search?q=x", headers={"X-User-Id": user})
    response = connection.getresponse()
    response.read()
    return response.getheader("X-Served-By", ""), response.getheader("X-Gateway-Config", "")


def _connect(gateway: RunningGateway) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=5)


def test_a_shift_is_live_keeps_connections_and_only_adds_users_to_new(
    make_gateway: MakeGateway,
) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 30')
    connection = _connect(gateway)
    before = {user: _side(connection, user)[0] for user in USERS}
    workers_log = gateway.nginx.layout.error_log.read_text()
    change = set_route_mode(gateway.table_path, gateway.prefix, "search", "canary", 60)
    assert change.applied.live and change.applied.reloaded
    after = {user: _side(connection, user) for user in USERS}  # the same keep-alive connection
    assert {config for _, config in after.values()} == {change.config_id}
    moved = [user for user in USERS if before[user] != after[user][0]]
    assert all(before[user] == "legacy" and after[user][0] == "new" for user in moved)
    share = sum(side == "new" for side, _ in after.values()) / len(USERS)
    assert 0.5 < share < 0.7, share
    assert "reconfiguring" not in gateway.nginx.layout.error_log.read_text()[len(workers_log) :]
    logged = gateway.access_log_entries(at_least=2 * len(USERS))[-len(USERS) :]
    assert {line["split"] for line in logged} == {60}
    connection.close()


def test_a_restarted_gateway_serves_the_table_s_percentages(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 30')
    change = set_route_mode(gateway.table_path, gateway.prefix, "search", "canary", 70)
    connection = _connect(gateway)
    live = {user: _side(connection, user) for user in USERS}
    connection.close()
    gateway.nginx.stop()
    assert running_pid(gateway.prefix) is None
    gateway.nginx.start()
    connection = _connect(gateway)
    restarted = {user: _side(connection, user) for user in USERS}
    connection.close()
    assert restarted == live
    assert {config for _, config in restarted.values()} == {change.config_id}


def test_a_mode_change_still_reloads(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 30')
    change = set_route_mode(gateway.table_path, gateway.prefix, "search", "migrated")
    assert change.applied.reloaded and not change.applied.live
    connection = _connect(gateway)
    assert _side(connection, "ana") == ("new", change.config_id)
    connection.close()
