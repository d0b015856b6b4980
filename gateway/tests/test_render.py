"""The rendered config is what the route table says, and real ``nginx -t`` accepts it."""

import itertools
import re
from pathlib import Path

import pytest
from strangler_gateway.errors import GatewayError, NginxConfigError
from strangler_gateway.nginx import check
from strangler_gateway.render import render_nginx_config
from strangler_gateway.routes import load_route_table, parse_route_table

from .conftest import table_text

SHIPPED = Path(__file__).resolve().parents[1] / "routes.toml"


def _render(search: str, prefix: Path) -> str:
    return render_nginx_config(parse_route_table(table_text(search)), prefix=prefix)


def _block(config: str, header: str) -> str:
    start = config.index(header + " {") + len(header) + 2
    return config[start : config.index("}", start)]


def _new_buckets(config: str, route: str) -> set[int]:
    block = _block(config, f"map $sf_bucket ${route}_split")
    return {int(bucket) for bucket in re.findall(r"^\s*(\d+) new;$", block, re.MULTILINE)}


def test_the_shipped_table_renders_a_config_nginx_accepts(tmp_path: Path) -> None:
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    conf = tmp_path / "conf" / "nginx.conf"
    conf.parent.mkdir()
    conf.write_text(config)
    check(conf, prefix=tmp_path)
    assert config.startswith("# generated from routes.toml — do not edit")


def test_every_file_nginx_writes_is_under_the_prefix(tmp_path: Path) -> None:
    config = _render('mode = "legacy"', tmp_path)
    prefix = str(tmp_path.resolve())
    for directive in ("pid", "error_log", "access_log", *(f"{kind}_temp_path" for kind in (
        "client_body", "proxy", "fastcgi", "uwsgi", "scgi"))):  # fmt: skip
        match = re.search(rf"^\s*{directive} (\S+)", config, re.MULTILINE)
        assert match, f"{directive} missing"
        assert match[1].startswith(prefix + "/"), f"{directive} is {match[1]}"
    assert "daemon off;" in config
    assert "master_process on;" in config
    assert "server_tokens off;" in config


def test_one_split_of_100_one_percent_buckets_keyed_by_the_user(tmp_path: Path) -> None:
    config = _render('mode = "canary"\npercent = 30', tmp_path)
    assert config.count("split_clients") == 1
    split = _block(config, 'split_clients "${sf_user_key}" $sf_bucket')
    assert re.findall(r"1% (\d+);", split) == [str(bucket) for bucket in range(100)]
    assert "remote_addr" not in config, "the sticky key must never be the client address"
    assert "map $cookie_sf_uid $sf_user_key" in config
    assert '"" $request_id;' in _block(config, "map $http_x_user_id $sf_header_key")


def test_raising_the_percent_only_adds_buckets_to_new(tmp_path: Path) -> None:
    shares = [0, 1, 30, 31, 60, 99]
    buckets = [_new_buckets(_render(f'mode = "canary"\npercent = {p}', tmp_path), "search")
               for p in shares]  # fmt: skip
    for share, new in zip(shares, buckets, strict=True):
        assert new == set(range(share))
    for smaller, larger in itertools.pairwise(buckets):
        assert smaller < larger
    all_new = _render('mode = "canary"\npercent = 100', tmp_path)
    assert "default new;" in _block(all_new, "map $sf_bucket $search_split")


def test_override_maps_follow_the_route_settings(tmp_path: Path) -> None:
    config = _render('mode = "canary"\npercent = 30', tmp_path)
    search = _block(config, "map $http_x_migration_target $search_target")
    assert "default $search_split;" in search
    assert "legacy legacy;" in search and "new new;" in search
    hooks = _block(config, "map $http_x_migration_target $hooks_target")
    assert "legacy legacy;" not in hooks, "override = false must ignore the header"
    gone = _block(config, "map $http_x_migration_target $gone_target")
    assert "legacy legacy;" not in gone, "a retired route has no legacy side to force"
    assert "new service;" in _block(config, "map $search_target $search_upstream")


def test_streaming_routes_are_never_buffered_or_compressed(tmp_path: Path) -> None:
    config = _render('mode = "legacy"', tmp_path)
    stream = _block(config, "location /api/chat/stream")
    for directive in ("proxy_buffering off;", "gzip off;", "proxy_read_timeout 30s;"):
        assert directive in stream
    search = _block(config, "location /api/search")
    assert "proxy_buffering off;" not in search
    assert 'proxy_set_header Connection "";' in search
    assert "worker_shutdown_timeout 30s;" in config
    assert "location = /api/old" in config


def test_overrides_replace_upstream_servers_and_the_listen_address(tmp_path: Path) -> None:
    table = parse_route_table(table_text())
    config = render_nginx_config(
        table, prefix=tmp_path, upstream_overrides={"service": ["127.0.0.1:9999"]},
        listen="127.0.0.1:18080",
    )  # fmt: skip
    assert "server 127.0.0.1:9999;" in _block(config, "upstream service")
    assert "server 127.0.0.1:8000;" in _block(config, "upstream monolith")
    assert "listen 127.0.0.1:18080 default_server;" in config
    with pytest.raises(GatewayError, match="unknown upstream"):
        render_nginx_config(table, prefix=tmp_path, upstream_overrides={"nope": ["a:1"]})


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    assert _render('mode = "legacy"', tmp_path) == _render('mode = "legacy"', tmp_path)
    assert _render('mode = "legacy"', tmp_path) != _render('mode = "migrated"', tmp_path)


def test_nginx_refusal_carries_nginx_words(tmp_path: Path) -> None:
    conf = tmp_path / "conf" / "broken.conf"
    conf.parent.mkdir()
    conf.write_text("events {}\nhttp { proxy_pass_typo on; }\n")
    with pytest.raises(NginxConfigError, match='unknown directive "proxy_pass_typo"'):
        check(conf, prefix=tmp_path)
