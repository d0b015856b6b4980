"""The rendered config is what the route table says, and real ``nginx -t`` accepts it."""

import re
from pathlib import Path

import pytest
import uvicorn
from gunicorn import config as gunicorn_config  # type: ignore[import-untyped]
from strangler_gateway.errors import GatewayError, NginxConfigError
from strangler_gateway.nginx.process import check
from strangler_gateway.nginx.render import render_nginx_config
from strangler_gateway.nginx.status import ConfigHeader
from strangler_gateway.routetable import load_route_table, parse_route_table

from .conftest import table_text

SHIPPED = Path(__file__).resolve().parents[1] / "routes.toml"


def _render(search: str, prefix: Path) -> str:
    return render_nginx_config(parse_route_table(table_text(search)), prefix=prefix)


def _block(config: str, header: str) -> str:
    """Return the body of the block opened by ``header`` (up to its own closing line)."""
    lines = config.splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip() == header + " {")
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    end = next(n for n in range(start + 1, len(lines)) if lines[n] == indent + "}")
    return "\n".join(lines[start + 1 : end])


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
    keyed = re.findall(r'split_clients "(\S*)\$\{sf_user_key\}" (\S+) \{', config)
    assert keyed == [("", "$sf_bucket"), ("a:", "$sf_unit_a"), ("b:", "$sf_unit_b")]
    assert '"unit":"$sf_bucket.$sf_unit_a.$sf_unit_b"' in config, "users logged by pseudonym"
    split = _block(config, 'split_clients "${sf_user_key}" $sf_bucket')
    assert re.findall(r"1% (\d+);", split) == [str(bucket) for bucket in range(100)]
    sticky = ["map $sf_auth_user $sf_user_key", "map $cookie_sf_uid $sf_cookie_key",
              "map $http_x_user_id $sf_header_key"]  # fmt: skip
    for chain in sticky:
        assert "remote_addr" not in _block(config, chain), "never keyed by the client address"
    assert '"" $sf_cookie_key;' in _block(config, "map $sf_auth_user $sf_user_key")
    assert '"" $sf_header_key;' in _block(config, "map $cookie_sf_uid $sf_cookie_key")
    assert '"" $request_id;' in _block(config, "map $http_x_user_id $sf_header_key")


def test_percentages_are_live_values_with_the_table_as_their_fallback(tmp_path: Path) -> None:
    shares = (0, 1, 30, 100)
    configs = {p: _render(f'mode = "canary"\npercent = {p}', tmp_path) for p in shares}
    headers = {p: ConfigHeader.parse(config) for p, config in configs.items()}
    assert len({header.layout_id for header in headers.values()}) == 1, "a shift needs no reload"
    assert len({header.config_id for header in headers.values()}) == len(shares)
    for share, config in configs.items():
        assert headers[share].weights == {"search": share}
        search = _block(config, "location /api/search")
        # weights.js compares the user's bucket with the share: it must be set before the target.
        assert search.index(f"set $sf_split {share};") < search.index("set $sf_target")
        assert '"" $sf_live_side;' in _block(config, "map $search_override $search_target")
    migrated = ConfigHeader.parse(_render('mode = "migrated"', tmp_path))
    assert migrated.layout_id != headers[30].layout_id, "a mode change is structural"


def test_override_maps_follow_the_route_settings(tmp_path: Path) -> None:
    config = _render('mode = "canary"\npercent = 30', tmp_path)
    search = _block(config, "map $http_x_migration_target $search_override")
    assert "legacy legacy;" in search and "new new;" in search
    assert '"" $sf_live_side;' in _block(config, "map $search_override $search_target")
    assert "$hooks_override" not in config, "override = false must ignore the header"
    assert "$gone_override" not in config, "a retired route has no legacy side to force"
    assert "default new;" in _block(config, "map $request_method $gone_target")
    assert "new service;" in _block(config, "map $search_target $search_upstream")


def test_only_routes_with_a_fallback_get_the_guarded_locations(tmp_path: Path) -> None:
    config = _render('mode = "canary"\npercent = 30', tmp_path)
    for route in ("search", "hooks"):  # canary and migrated
        assert f"location @{route}_new" in config and f"location @{route}_fallback" in config
        assert '"new:1" 1;' in _block(
            config, f'map "${route}_target:$sf_idempotent" ${route}_guard'
        )
    assert "@gone_new" not in config and "@stream_new" not in config
    guarded = _block(config, "location @search_new")
    assert "proxy_intercept_errors on;" in guarded
    assert "error_page 502 503 504 = @search_fallback;" in guarded
    fallback = _block(config, "location @search_fallback")
    assert "set $sf_fallback true;" in fallback and "proxy_pass http://monolith;" in fallback


def test_only_shadow_routes_mirror(tmp_path: Path) -> None:
    assert "mirror " not in _render('mode = "legacy"', tmp_path)
    config = _render('mode = "shadow"\npercent = 25', tmp_path)
    assert "mirror /__gateway/shadow/search;" in _block(config, "location /api/search")
    mirror = _block(config, "location = /__gateway/shadow/search")
    assert "internal;" in mirror and "proxy_pass http://shadow/compare;" in mirror
    assert 'if ($sf_live_sampled = "")' in mirror
    assert "set $sf_mirror_percent 25;" in _block(config, "location /api/search")


def test_no_server_level_set_which_mirror_subrequests_would_rerun(tmp_path: Path) -> None:
    # A mirror subrequest runs the server's rewrite phase and shares the user's variables: a
    # server-level `set` would reset the routing decision the access log reports.
    config = _render('mode = "shadow"\npercent = 25', tmp_path)
    server = config[config.index("server {") : config.index("location ")]
    assert "set $" not in server


def test_streaming_routes_are_never_buffered_or_compressed(tmp_path: Path) -> None:
    config = _render('mode = "legacy"', tmp_path)
    stream = _block(config, "location /api/chat/stream")
    for directive in ("proxy_buffering off;", "gzip off;", "proxy_read_timeout 20s;"):
        assert directive in stream
    search = _block(config, "location /api/search")
    assert "proxy_buffering off;" not in search
    assert 'proxy_set_header Connection "";' in search
    assert "worker_shutdown_timeout 30s;" in config
    assert "location = /api/old" in config


def test_the_shipped_table_lets_streams_outlive_heartbeats_and_reloads(tmp_path: Path) -> None:
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    # chat asks core who the user is first (auth), then proxies from its named location.
    assert "auth_request /__gateway/session/optional;" in _block(config, "location /api/chat")
    chat = _block(config, "location @chat_main")
    read = int(re.search(r"proxy_read_timeout (\d+)s;", chat)[1])  # type: ignore[index]
    shutdown = int(re.search(r"worker_shutdown_timeout (\d+)s;", config)[1])  # type: ignore[index]
    assert read > 10, "a stream's read timeout must outlast the services' 10 s heartbeat"
    assert shutdown >= read, "a reload must give an open stream at least its longest silence"
    assert "proxy_buffering off;" in chat and "gzip off;" in chat


def test_nginx_ends_idle_upstream_connections_before_the_servers_do(tmp_path: Path) -> None:
    # A server that closes an idle connection as nginx sends a request on it fails the request,
    # and a POST is never re-sent: nginx must let go of its idle connections first.
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    # core's gunicorn.conf.py and every uvicorn service leave the servers' idle timeouts alone.
    gunicorn = gunicorn_config.Config().keepalive
    uvicorn_ = uvicorn.Config(app="service:app").timeout_keep_alive
    for upstream, server_idle in (("core", gunicorn), ("rag", uvicorn_), ("shadow", uvicorn_),
                                  ("traces", uvicorn_), ("console", uvicorn_)):  # fmt: skip
        block = _block(config, f"upstream {upstream}")
        idle = int(re.search(r"keepalive_timeout (\d+)s;", block)[1])  # type: ignore[index]
        assert idle < server_idle, upstream
    assert "keepalive 256;" in _block(config, "upstream rag")


def test_a_restarted_adapter_is_tried_again_after_a_second_not_ten(tmp_path: Path) -> None:
    # Killing one adapter, then restarting the other gracefully within nginx's default 10 s,
    # left no live server: the webhook drill's senders got 502.
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    webhooks = _block(config, "upstream webhooks")
    servers = re.findall(r"server (\S+)( fail_timeout=\d+s)?;", webhooks)
    assert len(servers) == 2 and all(params == " fail_timeout=1s" for _, params in servers)
    assert "fail_timeout" not in _block(config, "upstream core")  # nginx's default


def test_the_grpc_listener_routes_by_service(tmp_path: Path) -> None:
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    grpc = config[config.index("listen 127.0.0.1:9090;") :]
    assert "http2 on;" in grpc
    assert "grpc_pass grpc://core_grpc;" in _block(grpc, "location /strangler.core.v1.CoreService/")
    assert "grpc_pass grpc://rag_grpc;" in _block(grpc, "location /strangler.rag.v1.RagService/")
    # Health goes to the service named in the request: njs reads it, a map names the location.
    assert "js_content sf_health.route;" in _block(grpc, "location /grpc.health.v1.Health/")
    assert "grpc_pass grpc://core_grpc;" in _block(grpc, "location @sf_health_core_grpc")
    assert "grpc_pass grpc://rag_grpc;" in _block(grpc, "location @sf_health_rag_grpc")
    health = _block(config, "map $sf_health_service $sf_health_location")
    assert "default @sf_health_core_grpc;" in health
    assert '"strangler.rag.v1.RagService" @sf_health_rag_grpc;' in health
    assert "add_header grpc-status 12 always;" in _block(grpc, "location /")


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
