"""The strangler facade: a route table, its nginx config, and the commands that move traffic.

``routes.toml`` says which service answers each path; this package validates it, renders it into
nginx config, checks it with ``nginx -t`` and swaps it into a running gateway without dropping a
request. The local runner and the cross-service tests use the names exported here.
"""

from strangler_gateway.control import ModeChange, set_route_mode
from strangler_gateway.errors import GatewayError, NginxConfigError, NginxError, RouteTableError
from strangler_gateway.nginx import (
    ApplyResult,
    Nginx,
    apply,
    check,
    find_nginx,
    nginx_argv,
    reload_running,
    running_pid,
)
from strangler_gateway.render import render_nginx_config
from strangler_gateway.routes import Mode, Route, RouteTable, Upstream, load_route_table

__all__ = [
    "ApplyResult",
    "GatewayError",
    "Mode",
    "ModeChange",
    "Nginx",
    "NginxConfigError",
    "NginxError",
    "Route",
    "RouteTable",
    "RouteTableError",
    "Upstream",
    "apply",
    "check",
    "find_nginx",
    "load_route_table",
    "nginx_argv",
    "reload_running",
    "render_nginx_config",
    "running_pid",
    "set_route_mode",
]
