"""The gateway serves the migration console at /console/, and only with the identity it set."""

import re
from pathlib import Path

from strangler_gateway.nginx.process import check
from strangler_gateway.nginx.render import render_nginx_config
from strangler_gateway.routetable import load_route_table, parse_route_table

SHIPPED = Path(__file__).resolve().parents[1] / "routes.toml"


def _location(config: str, match: str) -> str:
    found = re.search(r"location " + re.escape(match) + r" \{(.*?)\n        \}", config, re.S)
    assert found, f"no location {match}"
    return found.group(1)


def test_the_console_is_proxied_unbuffered_and_unlogged(tmp_path: Path) -> None:
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    console = _location(config, "/console/")
    assert "proxy_pass http://console;" in console
    assert "proxy_buffering off;" in console, "server-sent events must not wait in a buffer"
    assert "access_log off;" in console, "looking at the console is not traffic"
    assert "return 301 /console/;" in _location(config, "= /console")
    conf = tmp_path / "conf" / "nginx.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(config)
    check(conf, prefix=tmp_path)


def test_the_console_gets_only_the_identity_core_vouched_for(tmp_path: Path) -> None:
    config = render_nginx_config(load_route_table(SHIPPED), prefix=tmp_path)
    console = _location(config, "/console/")
    assert "auth_request /__gateway/session/optional;" in console
    assert "proxy_set_header X-Identity $sf_identity;" in console


def test_no_console_upstream_no_console(tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace('console = "console"\n', "")
    config = render_nginx_config(parse_route_table(text), prefix=tmp_path)
    assert "location /console/" not in config
