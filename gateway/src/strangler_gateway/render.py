"""Render the route table into an nginx config with nginx-config-builder.

The config is build output: every routing decision lives in ``routes.toml`` and this module turns
it into nginx's own primitives, so the gateway is plain nginx with no code on the request path:

- one ``split_clients`` hashes each user's sticky key into a bucket 0..99, the same bucket on every
  route, so raising a route's percent only ever moves more users to the new side (monotonic);
- per route, three ``map`` blocks turn the bucket into a side (``_split``), let a tester's override
  header force a side (``_target``) and name the upstream block for that side (``_upstream``);
- the chosen side is visible in response headers and in a JSON access log.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from nginx.config.api import Block, Comment, EmptyBlock, KeyMultiValueOption, Location
from nginx.config.api.options import KeyValuesMultiLines
from nginx.config.helpers import duplicate_options

from strangler_gateway.errors import GatewayError
from strangler_gateway.layout import TEMP_KINDS, Layout
from strangler_gateway.routes import ADDRESS, Match, Mode, Route, RouteTable, Upstream

__all__ = ["STATUS_PATH", "config_id", "render_nginx_config"]

# The gateway's own status page: answers with the id of the config the serving worker runs, which
# is how a reload is known to have taken effect.
STATUS_PATH = "/__gateway/status"
BUCKETS = 100
_NON_STREAM_READ_SECONDS = 60
_ACCESS_FIELDS = {
    "time": '"$time_iso8601"',
    "request_id": '"$request_id"',
    "method": '"$request_method"',
    "uri": '"$request_uri"',
    "status": "$status",
    "route": '"$sf_route"',
    "mode": '"$sf_mode"',
    "target": '"$sf_target"',
    "bucket": '"$sf_bucket"',
    "upstream_addr": '"$upstream_addr"',
    "request_time": "$request_time",
    "upstream_response_time": '"$upstream_response_time"',
    "user_agent": '"$http_user_agent"',
    "traceparent": '"$http_traceparent"',
}
# Headers only the gateway may set: an upstream's own copy would make the decision ambiguous.
# X-Gateway-Config names the config that routed the response, so a client can tell a reload landed.
_DECISION_HEADERS = ("X-Served-By", "X-Route", "X-Migration-Bucket", "X-Gateway-Config")


def render_nginx_config(
    table: RouteTable,
    *,
    prefix: Path,
    upstream_overrides: dict[str, list[str]] | None = None,
    listen: str | None = None,
    user: str | None = None,
) -> str:
    """Return the nginx config for ``table``, with every file nginx writes under ``prefix``.

    ``user`` is the account the workers run as when the master runs as root (nginx's built-in
    default, often "nobody", may not be able to write temp files under ``prefix``).
    """
    table = _override_upstreams(table, upstream_overrides or {})
    layout = Layout.at(prefix)
    listen = listen or table.gateway.listen
    ident = config_id(table, layout.prefix, listen, user)
    config = EmptyBlock(
        Comment(comment="generated from routes.toml — do not edit; edit the route table instead"),
        Comment(comment=f"config {ident} listen {listen}"),
        _main(table, layout, user),
        Block("events", worker_connections=1024),
        _http(table, layout, listen, ident),
    )
    return str(config).lstrip("\n") + "\n"


def config_id(table: RouteTable, prefix: Path, listen: str, user: str | None = None) -> str:
    """Return a short id that changes whenever the rendered config would."""
    material = repr((table, str(prefix), listen, user)).encode()
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
    # open streams get max_stream_seconds to finish after a reload or graceful stop.
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


def _http(table: RouteTable, layout: Layout, listen: str, ident: str) -> Block:
    http = Block("http", **_http_options(table), **_temp_paths(layout))
    http.sections.add(
        _access_log(layout),
        *(_upstream(upstream) for upstream in table.upstreams),
        Comment(comment="The sticky key: cookie, else header, else the request id (never the IP)."),
        _user_key_maps(table),
        _bucket_split(),
        Block("map $http_upgrade $sf_connection", default="upgrade", **{'""': '""'}),
    )
    for route in table.routes:
        http.sections.add(Comment(comment=f"route {route.name}: {_describe(route)}"))
        http.sections.add(*_route_maps(route, table))
    http.sections.add(_server(table, listen, ident))
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
        "proxy_send_timeout": f"{_NON_STREAM_READ_SECONDS}s",
        "proxy_read_timeout": f"{_NON_STREAM_READ_SECONDS}s",
        "gzip": True,
        "gzip_types": ["application/json", "text/plain"],
        "gzip_min_length": 1024,
    }


def _temp_paths(layout: Layout) -> dict[str, str]:
    return {f"{kind}_temp_path": str(layout.temp(kind)) for kind in TEMP_KINDS}


def _access_log(layout: Layout) -> EmptyBlock:
    fields = ",".join(f'"{name}":{value}' for name, value in _ACCESS_FIELDS.items())
    return EmptyBlock(
        KeyMultiValueOption("log_format", ["sf_json", "escape=json", f"'{{{fields}}}'"]),
        KeyMultiValueOption("access_log", [str(layout.access_log), "sf_json"]),
    )


def _upstream(upstream: Upstream) -> Block:
    block = Block(f"upstream {upstream.name}", keepalive=upstream.keepalive)
    block.sections.add(duplicate_options("server", list(upstream.servers)))
    return block


def _user_key_maps(table: RouteTable) -> EmptyBlock:
    cookie = f"$cookie_{table.gateway.sticky_cookie}"
    header = f"$http_{_header_var(table.gateway.sticky_header)}"
    return EmptyBlock(
        Block(f"map {cookie} $sf_user_key", default=cookie, **{'""': "$sf_header_key"}),
        Block(f"map {header} $sf_header_key", default=header, **{'""': "$request_id"}),
    )


def _bucket_split() -> Block:
    # 100 slices of 1 % each, so "$sf_bucket < percent" selects exactly percent % of users.
    block = Block('split_clients "${sf_user_key}" $sf_bucket')
    block.sections.add(KeyValuesMultiLines("1%", [str(bucket) for bucket in range(BUCKETS)]))
    return block


def _route_maps(route: Route, table: RouteTable) -> list[Block]:
    override = f"$http_{_header_var(table.gateway.override_header)}"
    maps = []
    if route.mode is Mode.CANARY:
        maps.append(_split_map(route))
    maps.append(Block(f"map {override} ${route.var}_target", **_target_entries(route)))
    maps.append(
        Block(f"map ${route.var}_target ${route.var}_upstream", default=route.legacy, new=route.new)
    )
    return maps


def _split_map(route: Route) -> Block:
    percent = route.new_percent
    if percent == BUCKETS:
        return Block(f"map $sf_bucket ${route.var}_split", default="new")
    entries = {str(bucket): "new" for bucket in range(percent)}
    return Block(f"map $sf_bucket ${route.var}_split", default="legacy", **entries)


def _target_entries(route: Route) -> dict[str, str]:
    default = {
        Mode.LEGACY: "legacy",
        Mode.CANARY: f"${route.var}_split",
        Mode.MIGRATED: "new",
        Mode.RETIRED: "new",
    }[route.mode]
    # A retired route has no legacy side left to force.
    if not route.override or route.mode is Mode.RETIRED:
        return {"default": default}
    return {"default": default, "legacy": "legacy", "new": "new"}


def _server(table: RouteTable, listen: str, ident: str) -> Block:
    server = Block("server", listen=[listen, "default_server"], server_name="_")
    server.sections.add(
        _sets(route="", mode="", target=""),
        duplicate_options(
            "error_page",
            [["502", "503", "@sf_upstream_unavailable"], ["504", "@sf_upstream_timeout"]],
        ),
        _status_location(ident),
        _internal_location(),
        *(_route_location(route, table, ident) for route in table.routes),
        _catch_all_location(table, ident),
        _error_location("@sf_upstream_unavailable", 502, "upstream_unavailable",
                        "The service behind this route is unreachable."),
        _error_location("@sf_upstream_timeout", 504, "upstream_timeout",
                        "The service behind this route did not answer in time."),
    )  # fmt: skip
    return server


def _status_location(ident: str) -> Location:
    body = f'{{"status":"ok","config":"{ident}"}}'
    return Location(f"= {STATUS_PATH}", access_log=False, **{"return": ["200", f"'{body}'"]})


def _internal_location() -> Location:
    # Service-to-service endpoints are reachable only directly, never through the facade; a regex
    # location wins over every prefix route, so no route can expose them by accident.
    body = _error_json("not_found", "No such resource.")
    return Location("~ ^/internal(/|$)", **{"return": ["404", f"'{body}'"]})


def _error_location(name: str, status: int, code: str, message: str) -> Location:
    location = Location(name, **{"return": [str(status), f"'{_error_json(code, message)}'"]})
    location.sections.add(_add_headers({"X-Served-By": "gateway", "X-Route": "$sf_route"}))
    return location


def _route_location(route: Route, table: RouteTable, ident: str) -> Location:
    match = f"= {route.path}" if route.match is Match.EXACT else route.path
    location = Location(match, proxy_pass=f"http://${route.var}_upstream")
    location.sections.add(
        _sets(route=route.name, mode=str(route.mode), target=f"${route.var}_target"),
        _proxy_headers(streaming=route.streaming),
        _add_headers(
            {
                "X-Served-By": f"${route.var}_target",
                "X-Route": route.name,
                "X-Migration-Bucket": "$sf_bucket",
                "X-Gateway-Config": ident,
            }
        ),
    )
    if route.streaming:
        location.sections.add(_streaming_options(table))
    return location


def _catch_all_location(table: RouteTable, ident: str) -> Location:
    location = Location("/", proxy_pass=f"http://{table.gateway.catch_all}")
    location.sections.add(
        _sets(route="catch-all", mode=str(Mode.LEGACY), target="legacy"),
        _proxy_headers(streaming=False),
        _add_headers({"X-Served-By": "legacy", "X-Route": "catch-all", "X-Gateway-Config": ident}),
    )
    return location


def _streaming_options(table: RouteTable) -> EmptyBlock:
    # Tokens must reach the client as they are produced: no buffering, no compression; the read
    # timeout is the longest silence allowed, far above any heartbeat interval.
    seconds = f"{table.gateway.max_stream_seconds}s"
    return EmptyBlock(
        proxy_buffering=False,
        proxy_request_buffering=False,
        gzip=False,
        proxy_read_timeout=seconds,
        proxy_send_timeout=seconds,
    )


def _proxy_headers(*, streaming: bool) -> EmptyBlock:
    # Upstream keep-alive needs HTTP/1.1 and no "Connection: close"; a streaming route also
    # passes a WebSocket upgrade through ($sf_connection is "" unless the client asked for one).
    headers: list[Sequence[str]] = [
        ["Host", "$host"],
        ["X-Forwarded-For", "$proxy_add_x_forwarded_for"],
        ["X-Forwarded-Proto", "$scheme"],
        ["X-Request-Id", "$request_id"],
        ["traceparent", "$http_traceparent"],
    ]
    if streaming:
        headers += [["Upgrade", "$http_upgrade"], ["Connection", "$sf_connection"]]
    else:
        headers.append(["Connection", '""'])
    return EmptyBlock(
        duplicate_options("proxy_set_header", headers),
        duplicate_options("proxy_hide_header", list(_DECISION_HEADERS)),
        proxy_http_version="1.1",
    )


def _add_headers(headers: dict[str, str]) -> EmptyBlock:
    return duplicate_options(
        "add_header", [[name, value, "always"] for name, value in headers.items()]
    )


def _sets(*, route: str, mode: str, target: str) -> EmptyBlock:
    values = {"$sf_route": route, "$sf_mode": mode, "$sf_target": target}
    return duplicate_options("set", [[name, value or '""'] for name, value in values.items()])


def _header_var(header: str) -> str:
    return header.lower().replace("-", "_")


def _error_json(code: str, message: str) -> str:
    return f'{{"error":{{"code":"{code}","message":"{message}"}}}}'


def _describe(route: Route) -> str:
    share = f" {route.percent}% new" if route.mode is Mode.CANARY else ""
    return f"{route.path} {route.mode}{share} ({route.legacy} -> {route.new})"
