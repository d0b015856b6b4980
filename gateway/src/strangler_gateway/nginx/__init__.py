"""Nginx: the route table rendered into nginx config, and the nginx process that serves it.

The gateway is plain nginx with no code on the request path, so every routing decision is made
by the config rendered here:

- ``render``: the whole config; the canary split (``split_clients`` on the sticky key, one bucket
  0..99 per user, and per route the ``map`` from bucket to side) is decided here.
- ``locations``: each route's locations, including the fallback to legacy when new refuses or times
  out, the catch-all and the gateway's own paths.
- ``directives``: small builders of nginx directives (the ``split_clients`` block among them).
- ``grpc``: the gRPC listener, routed by service name.
- ``tracecontext``: W3C trace context, baggage and the JSON access log.
- ``layout``: where the gateway keeps its files under an nginx prefix.
- ``status``: which config a running gateway serves (its status page).
- ``process``: find, check, start, reload and stop nginx, and ``apply`` a changed table safely.
"""

from strangler_gateway.nginx.layout import Layout
from strangler_gateway.nginx.process import (
    ApplyResult,
    Nginx,
    apply,
    check,
    find_nginx,
    nginx_argv,
    reload_running,
    render_live,
    running_pid,
)
from strangler_gateway.nginx.render import render_nginx_config

__all__ = [
    "ApplyResult",
    "Layout",
    "Nginx",
    "apply",
    "check",
    "find_nginx",
    "nginx_argv",
    "reload_running",
    "render_live",
    "render_nginx_config",
    "running_pid",
]
