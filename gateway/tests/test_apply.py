"""``apply`` installs a config only once nginx accepts it, and never disturbs a serving gateway."""

import socket
import threading
from pathlib import Path

import pytest
from strangler_gateway.errors import NginxConfigError, NginxError, RouteTableError
from strangler_gateway.nginx.process import apply, exclusive, running_pid
from strangler_gateway.nginx.status import ConfigHeader, served_config
from strangler_gateway.routetable import load_route_table
from strangler_gateway.traffic.control import set_route_mode

from .conftest import MakeGateway, table_text


def _served(conf: Path) -> str | None:
    return served_config(ConfigHeader.read(conf).status_url)


def test_apply_reloads_a_running_gateway_with_the_new_split(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "legacy"
    gateway.table_path.write_text(table_text('mode = "canary"\npercent = 100'))
    result = apply(gateway.table_path, gateway.prefix)
    assert result.reloaded
    assert _served(result.conf) == result.config_id
    # The saved upstream addresses of the running gateway are kept: only the split changed.
    reply = gateway.fetch("/api/search?q=x", headers={"Cookie": "sf_uid=ana"})
    assert (reply.headers["x-served-by"], reply.json()["upstream"]) == ("new", "new")


def test_an_invalid_table_leaves_the_running_gateway_untouched(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    conf = gateway.nginx.layout.conf
    before = conf.read_bytes()
    served = _served(conf)
    gateway.table_path.write_text(table_text('mode = "canary"\npercent = 130'))
    with pytest.raises(RouteTableError, match="percent"):
        apply(gateway.table_path, gateway.prefix)
    assert conf.read_bytes() == before
    assert _served(conf) == served
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "legacy"


def test_a_config_nginx_refuses_is_never_installed(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    conf = gateway.nginx.layout.conf
    before = conf.read_bytes()
    with pytest.raises(NginxConfigError, match=r'\[emerg\] invalid port in upstream "127.0.0.1:0"'):
        apply(gateway.table_path, gateway.prefix, {"service": ["127.0.0.1:0"]})
    assert conf.read_bytes() == before
    assert not list(conf.parent.glob(".nginx.conf.*")), "the candidate file was left behind"
    assert gateway.fetch("/api/search?q=x").status == 200


def test_a_failed_reload_restores_the_previous_config(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "legacy"')
    conf = gateway.nginx.layout.conf
    before = conf.read_bytes()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        # nginx -t does not bind, so only the reload itself can find the port taken.
        with pytest.raises(NginxError, match=r"reload failed: .* nginx said: \[emerg\] bind\(\)"):
            apply(gateway.table_path, gateway.prefix, listen=busy, timeout=2.0)
    assert conf.read_bytes() == before
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "legacy"


def test_apply_without_a_running_gateway_only_installs(tmp_path: Path) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    result = apply(table, tmp_path / "nginx", listen="127.0.0.1:18999")
    assert not result.reloaded
    assert result.conf.read_text().startswith("# generated from routes.toml")
    assert running_pid(tmp_path / "nginx") is None


def test_set_route_mode_reports_the_config_every_response_now_names(
    make_gateway: MakeGateway,
) -> None:
    gateway = make_gateway('mode = "legacy"')
    old = gateway.fetch("/healthz").headers["x-gateway-config"]
    result = set_route_mode(gateway.table_path, gateway.prefix, "search", "canary", 100)
    assert (result.change.before.mode, result.change.after.percent) == ("legacy", 100)
    assert result.config_id != old
    for path in ("/healthz", "/api/search?q=x"):
        assert gateway.fetch(path).headers["x-gateway-config"] == result.config_id
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "new"


def test_a_change_waits_for_the_one_in_progress_before_reading_the_table(
    make_gateway: MakeGateway,
) -> None:
    # A rollback racing a promotion must not edit a table the other is about to overwrite (or
    # put back when refused): the whole read, edit, apply runs under the change lock.
    gateway = make_gateway('mode = "legacy"')
    before = gateway.table_path.read_text()
    moved = threading.Thread(
        target=set_route_mode, args=(gateway.table_path, gateway.prefix, "search", "migrated")
    )
    with exclusive(gateway.prefix):
        moved.start()
        moved.join(timeout=1.0)
        assert moved.is_alive(), "the change did not wait for the lock"
        assert gateway.table_path.read_text() == before, "the table was edited under the lock"
    moved.join(timeout=60)
    assert load_route_table(gateway.table_path).route("search").mode == "migrated"
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "new"
