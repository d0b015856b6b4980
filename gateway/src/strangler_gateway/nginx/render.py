"""Render the route table into an nginx config with nginx-config-builder.

The config is build output: every routing decision lives in ``routes.toml`` and this module turns
it into nginx's own primitives, so the gateway is plain nginx with no service code on the request
path:

- one ``split_clients`` hashes each user's sticky key into a bucket 0..99, the same bucket on every
  route, so raising a route's percent only ever moves more users to the new side (monotonic);
- the percentages themselves are live values in shared memory (``weights``: a few lines of njs
  compare the bucket with the route's live share), so changing one needs no reload;
- per route, ``map`` blocks let a tester's override header force a side (``_override``,
  ``_target``), name the upstream block for that side (``_upstream``), and say whether a request is
  guarded by the legacy fallback (``_guard``);
- the locations (``locations``), the trace context and access log (``tracecontext``) and the gRPC
  listener (``grpc``) are built in modules of their own.
"""

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

from nginx.config.api import Block, Comment, EmptyBlock
from nginx.config.api.options import KeyValuesMultiLines

from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx.directives import header_var, split_clients
from strangler_gateway.nginx.errors import unknown_method_map
from strangler_gateway.nginx.grpc import grpc_js, grpc_server
from strangler_gateway.nginx.hardening import rate_limit_zone
from strangler_gateway.nginx.identity import identity_cache, identity_variables
from strangler_gateway.nginx.layout import TEMP_KINDS, Layout
from strangler_gateway.nginx.servers import STATUS_PATH, default_server, gateway_server
from strangler_gateway.nginx.tracecontext import access_log_formats, trace_context_maps, unit_splits
from strangler_gateway.nginx.weights import (
    LIVE_CONFIG,
    control_server,
    live_weights,
    weights_directives,
    without_weights,
)
from strangler_gateway.routetable import ADDRESS, Mode, Route, RouteTable, Upstream

__all__ = ["STATUS_PATH", "config_id", "render_nginx_config"]


def render_nginx_config(
    table: RouteTable,
    *,
    prefix: Path,
    upstream_overrides: dict[str, list[str]] | None = None,
    listen: str | None = None,
    grpc_listen: str | None = None,
    user: str | None = None,
) -> str:
    """Return the nginx config for ``table``, with every file nginx writes under ``prefix``.

    ``listen`` and ``grpc_listen`` replace the table's addresses (free ports in tests); ``user`` is
    the account the workers run as when the master runs as root (nginx's built-in default, often
    "nobody", may not be able to write temp files under ``prefix``).
    """
    table = _override_upstreams(table, upstream_overrides or {})
    layout = Layout.at(prefix)
    listen = listen or table.gateway.listen
    grpc_listen = (grpc_listen or table.gateway.grpc_listen) if table.grpc else None
    ident = config_id(table, layout.prefix, listen, user, grpc_listen)
    layout_id = config_id(without_weights(table), layout.prefix, listen, user, grpc_listen)
    config = EmptyBlock(
        Comment(comment="generated from routes.toml — do not edit; edit the route table instead"),
        Comment(comment=f"config {ident} listen {listen}"),
        Comment(comment=f"layout {layout_id} weights {_weights_text(table)}"),
        _main(table, layout, user),
        Block("events", worker_connections=1024),
        _http(table, layout, listen, grpc_listen, (ident, layout_id)),
    )
    return str(config).lstrip("\n") + "\n"


def _weights_text(table: RouteTable) -> str:
    return json.dumps(live_weights(table), sort_keys=True, separators=(",", ":"))


def config_id(
    table: RouteTable,
    prefix: Path,
    listen: str,
    user: str | None = None,
    grpc_listen: str | None = None,
) -> str:
    """Return a short id that changes whenever the rendered config would."""
    material = repr((table, str(prefix), listen, user, grpc_listen)).encode()
    return hashlib.sha256(material).hexdigest()[:16]


def _override_upstreams(table: RouteTable, overrides: dict[str, list[str]]) -> RouteTable:
    known = {upstream.name for upstream in table.upstreams}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise GatewayError(f"upstream override for unknown upstream(s): {', '.join(unknown)}")
    for name, servers in overrides.items():
        bad = [server for server in servers if not re.fullmatch(ADDRESS, server)]
        if bad or not servers:
            raise GatewayError(f"upstream override for '{name}': invalid servers {servers!r}")
    upstreams = tuple(
        replace(up, servers=tuple(overrides[up.name])) if up.name in overrides else up
        for up in table.upstreams
    )
    return replace(table, upstreams=upstreams)


def _main(table: RouteTable, layout: Layout, user: str | None) -> EmptyBlock:
    # The process is supervised (the local runner, the tests), so it stays in the foreground;
    # open streams get max_stream_seconds to finish after a reload or graceful stop, and no longer,
    # so old workers cannot pile up.
    main = EmptyBlock(
        daemon=False,
        master_process=True,
        worker_processes=2,
        worker_shutdown_timeout=f"{table.gateway.max_stream_seconds}s",
        pid=str(layout.pid),
        error_log=[str(layout.error_log), "warn"],
    )
    if user is not None:
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", user):
            raise GatewayError(f"invalid worker user {user!r}")
        main.options["user"] = user
    return main


def _http(
    table: RouteTable,
    layout: Layout,
    listen: str,
    grpc_listen: str | None,
    ids: tuple[str, str],
) -> Block:
    # Responses, the log and the status page name the config whose percentages are live.
    ident = LIVE_CONFIG
    http = Block("http", **_http_options(table), **_temp_paths(layout))
    http.sections.add(
        Comment(comment="Live percentages: read per request from shared memory (weights.js)."),
        weights_directives(layout, layout_id=ids[1], config_id=ids[0]),
        access_log_formats(layout, ident, grpc=grpc_listen is not None),
        *(_upstream(upstream) for upstream in table.upstreams),
        Comment(
            comment="The sticky key: the signed-in user, else cookie, else header, else the "
            "request id (never the IP)."
        ),
        _user_key_maps(table),
        # 100 slices of 1 % each, so "$sf_bucket < percent" selects exactly percent % of users.
        split_clients("${sf_user_key}", "$sf_bucket"),
        unit_splits(),
        Block("map $http_upgrade $sf_connection", default="upgrade", **{'""': '""'}),
        Comment(comment="Trace context, baggage and the access log's timestamp."),
        trace_context_maps(table.gateway.trace_sample_percent),
        Comment(comment="Session checks (auth_request), cached per session; per-client rates."),
        identity_cache(layout),
        identity_variables(),
        unknown_method_map(),
        rate_limit_zone(table),
    )
    if grpc_listen is not None:
        http.sections.add(grpc_js(table))
    if table.shadowing:
        # Shadow sampling is per request, independent of the user's bucket (another hash input).
        http.sections.add(split_clients("shadow:${request_id}", "$sf_sample"))
    for route in table.routes:
        http.sections.add(Comment(comment=f"route {route.name}: {_describe(route)}"))
        http.sections.add(*_route_maps(route, table))
    # Each server in an EmptyBlock of its own: the builder keys sections by block name.
    http.sections.add(EmptyBlock(default_server(listen, ident)))
    http.sections.add(EmptyBlock(gateway_server(table, listen, ident)))
    http.sections.add(Comment(comment="The control listener: live percentages, this machine only."))
    http.sections.add(EmptyBlock(control_server(layout)))
    if grpc_listen is not None:
        http.sections.add(Comment(comment="gRPC (h2c), routed by service name."))
        http.sections.add(EmptyBlock(grpc_server(table, grpc_listen, layout, ident)))
    return http


def _http_options(table: RouteTable) -> dict[str, object]:
    return {
        "server_tokens": False,
        "default_type": "application/json",
        "keepalive_timeout": "65s",
        "client_max_body_size": table.gateway.client_max_body_size,
        "client_body_buffer_size": "128k",
        "client_header_timeout": "15s",
        "client_body_timeout": "30s",
        "send_timeout": "60s",
        "proxy_connect_timeout": "3s",
        "proxy_send_timeout": f"{table.gateway.read_seconds}s",
        "proxy_read_timeout": f"{table.gateway.read_seconds}s",
        "gzip": True,
        # Every text type, event streams included: a route marked streaming turns compression and
        # buffering off for itself, which is what keeps its first token from waiting for the end.
        "gzip_types": [
            "application/json",
            "text/plain",
            "text/event-stream",
            "text/css",
            "application/javascript",
        ],
        "gzip_min_length": 1024,
    }


def _temp_paths(layout: Layout) -> dict[str, str]:
    return {f"{kind}_temp_path": str(layout.temp(kind)) for kind in TEMP_KINDS}


def _upstream(upstream: Upstream) -> Block:
    block = Block(
        f"upstream {upstream.name}",
        keepalive=upstream.keepalive,
        keepalive_timeout=f"{upstream.keepalive_timeout}s",
    )
    params = (
        ""
        if upstream.fail_timeout == Upstream.fail_timeout
        else f" fail_timeout={upstream.fail_timeout}s"
    )
    block.sections.add(KeyValuesMultiLines("server", [s + params for s in upstream.servers]))
    return block


def _user_key_maps(table: RouteTable) -> EmptyBlock:
    cookie = f"$cookie_{table.gateway.sticky_cookie}"
    header = f"$http_{header_var(table.gateway.sticky_header)}"
    # $sf_auth_user is set only on routes that asked core who the user is (auth): a signed-in
    # user keeps one bucket whatever browser or cookie they come with.
    return EmptyBlock(
        Block(
            "map $sf_auth_user $sf_user_key",
            default='"user:$sf_auth_user"',
            **{'""': "$sf_cookie_key"},
        ),
        Block(f"map {cookie} $sf_cookie_key", default=cookie, **{'""': "$sf_header_key"}),
        Block(f"map {header} $sf_header_key", default=header, **{'""': "$request_id"}),
    )


def _route_maps(route: Route, table: RouteTable) -> list[Block]:
    var = route.var
    maps = []
    if route.honours_override:
        override = f"$http_{header_var(table.gateway.override_header)}"
        maps.append(Block(f"map {override} ${var}_override", default='""',
                          legacy="legacy", new="new"))  # fmt: skip
        maps.append(Block(f"map ${var}_override ${var}_target",
                          default=f"${var}_override", **{'""': _default_side(route)}))  # fmt: skip
    else:
        maps.append(Block(f"map $request_method ${var}_target", default=_default_side(route)))
    maps.append(Block(f"map ${var}_target ${var}_upstream", default=route.legacy, new=route.new))
    if route.mode.falls_back:
        maps.append(Block(f'map "${var}_target:$sf_idempotent" ${var}_guard',
                          default='""', **{'"new:1"': "1"}))  # fmt: skip
    return maps


def _default_side(route: Route) -> str:
    return {
        Mode.LEGACY: "legacy",
        Mode.SHADOW: "legacy",
        # The user's bucket against the live share (weights.js): "bucket < percent" is new.
        Mode.CANARY: "$sf_live_side",
        Mode.MIGRATED: "new",
        Mode.RETIRED: "new",
    }[route.mode]


def _describe(route: Route) -> str:
    share = f" {route.percent}%" if route.mode.takes_percent else ""
    return f"{route.path} {route.mode}{share} ({route.legacy} -> {route.new})"
