"""The strangler facade: a route table, its nginx config, and the commands that move traffic.

``routes.toml`` says which service answers each path; this package validates it, renders it into
nginx config (and Gateway API routes), checks it with ``nginx -t`` and swaps it into a running
gateway without dropping a request. The local runner and the cross-service tests use the names
exported here.
"""

from strangler_gateway.control import (
    LADDER,
    ModeChange,
    Step,
    next_step,
    promote_route,
    rollback_route,
    set_route_mode,
)
from strangler_gateway.errors import GatewayError, NginxConfigError, NginxError, RouteTableError
from strangler_gateway.k8s import render_k8s, render_k8s_objects
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
from strangler_gateway.routes import (
    Compare,
    GrpcRoute,
    Mode,
    Route,
    RouteTable,
    Upstream,
    load_route_table,
)
from strangler_gateway.stats import RouteStats, SrmVerdict, route_stats, sample_ratio_mismatch

__all__ = [
    "LADDER",
    "ApplyResult",
    "Compare",
    "GatewayError",
    "GrpcRoute",
    "Mode",
    "ModeChange",
    "Nginx",
    "NginxConfigError",
    "NginxError",
    "Route",
    "RouteStats",
    "RouteTable",
    "RouteTableError",
    "SrmVerdict",
    "Step",
    "Upstream",
    "apply",
    "check",
    "find_nginx",
    "load_route_table",
    "next_step",
    "nginx_argv",
    "promote_route",
    "reload_running",
    "render_k8s",
    "render_k8s_objects",
    "render_nginx_config",
    "rollback_route",
    "route_stats",
    "running_pid",
    "sample_ratio_mismatch",
    "set_route_mode",
]
