"""The strangler facade: a route table, its nginx config, and the commands that move traffic.

``routes.toml`` says which service answers each path; this package validates it, renders it into
nginx config (and Gateway API routes), checks it with ``nginx -t`` and swaps it into a running
gateway without dropping a request. The local runner and the cross-service tests use the names
exported here.

The parts, one folder each:

- ``routetable/``: routes.toml into validated objects, and editing it in place.
- ``nginx/``: the nginx config (canary split, fallback, trace context, gRPC) and the nginx process.
- ``traffic/``: changing a route's mode (the promotion ladder, rollback) and its per-side stats
  with the sample ratio mismatch check.
- ``shadow/``: the shadow comparator that compares legacy and new answers.
- ``cli/``: the ``strangler`` command, one module per command group.
- ``tools/``: the benchmark and the load generator.
- ``k8s``: the table as Gateway API routes; ``errors``: the package's exceptions.
"""

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
    render_nginx_config,
    running_pid,
)
from strangler_gateway.routetable import (
    Compare,
    GrpcRoute,
    Mode,
    Route,
    RouteTable,
    Upstream,
    load_route_table,
)
from strangler_gateway.traffic import (
    LADDER,
    ModeChange,
    RouteStats,
    SrmVerdict,
    Step,
    next_step,
    promote_route,
    rollback_route,
    route_stats,
    sample_ratio_mismatch,
    set_route_mode,
)

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
