"""The HTTP server's locations: one set per route, the catch-all and the gateway's own paths.

A route's main location proxies to the side its maps chose. Two modes add more:

- ``canary`` and ``migrated``: an idempotent request bound for new jumps (``error_page 418`` to a
  named location, nginx's documented way to branch without ``if`` pitfalls) to ``@<route>_new``,
  which intercepts a refused connection, a timeout, a 502 or a 503 and re-sends the request to
  legacy from ``@<route>_fallback``, marked as a fallback. Other requests (a POST) go straight to
  their side and are never re-sent: their 502/503 reaches the client as a clear error.
- ``shadow``: the main location mirrors each request to an internal location that forwards sampled
  GET/HEAD requests to the comparator and drops the rest; the user gets legacy's answer as soon as
  legacy gives it, whatever the comparator does.

A route that needs a user (``auth``) first passes a gate: the prefix location bounds the body and
the rate, asks the monolith who the user is (``auth_request``, in nginx's access phase), then
hands the request (``try_files`` to a named location) to the locations above. The split is
decided only there, after the check, because nginx computes a variable once per request and the
sticky key is the signed-in user when there is one: deciding in the gate would key the split on
an anonymous request.
"""

from collections.abc import Sequence

from nginx.config.api import EmptyBlock, KeyOption, Location

from strangler_gateway.nginx.directives import add_headers, if_return, repeated, sets
from strangler_gateway.nginx.errors import error_pages, method_refusal
from strangler_gateway.nginx.hardening import hidden_upstream_headers, rate_limit, security_headers
from strangler_gateway.nginx.identity import auth_directives, identity_headers
from strangler_gateway.nginx.tracecontext import upstream_context
from strangler_gateway.routetable import Auth, Match, Mode, Route, RouteTable

__all__ = [
    "DECISION_HEADERS",
    "GATEWAY_DECISION",
    "catch_all_location",
    "decision_headers",
    "response_headers",
    "route_locations",
    "viewer_locations",
]

# Headers only the gateway may set: an upstream's own copy would make the decision ambiguous.
# X-Gateway-Config names the config that routed the response, so a client can tell a reload landed.
DECISION_HEADERS = (
    "X-Served-By",
    "X-Route",
    "X-Migration-Bucket",
    "X-Migration-Fallback",
    "X-Gateway-Config",
    "X-Request-Id",
)
# The decision logged for what the gateway answers itself (its own 404s): no route, no side.
GATEWAY_DECISION = {"$sf_route": "", "$sf_mode": "", "$sf_target": "", "$sf_fallback": "false",
                    "$sf_split": "0", "$sf_override": ""}  # fmt: skip
_BRANCH = 418  # never sent: the status that moves a request to the guarded location
_SHADOW_PATH = "/__gateway/shadow"
# The comparator answers 202 at once; anything slower is dropped, never waited for by users.
_SHADOW_TIMEOUTS = {"proxy_connect_timeout": "1s", "proxy_send_timeout": "2s",
                    "proxy_read_timeout": "2s"}  # fmt: skip


def route_locations(route: Route, table: RouteTable, config: str) -> list[Location]:
    """Return the locations of ``route``: the gate, main, and the guarded pair or the mirror."""
    main = _main_location(route, table, config)
    locations = [main]
    if route.auth is not Auth.NONE:
        locations.insert(0, _gate_location(route, table, config))
    if route.mode.falls_back:
        main.sections.add(
            repeated("error_page", [[str(_BRANCH), "=", f"@{route.var}_new"]]),
            if_return(f"${route.var}_guard", _BRANCH),
        )
        locations += [_new_location(route, table, config), _fallback_location(route, table, config)]
    if route.mode is Mode.SHADOW:
        main.sections.add(
            EmptyBlock(mirror=f"{_SHADOW_PATH}/{route.name}", mirror_request_body=False)
        )
        locations.append(_mirror_location(route, table))
    return locations


def _path_match(route: Route) -> str:
    return f"= {route.path}" if route.match is Match.EXACT else route.path


def _limits(route: Route | None, table: RouteTable) -> EmptyBlock:
    # Bodies and rates are bounded where the request arrives, before anything else is done.
    body = route.max_body if route and route.max_body else table.gateway.client_max_body_size
    block = EmptyBlock(client_max_body_size=body)
    block.sections.add(rate_limit(table))
    return block


def _gate_location(route: Route, table: RouteTable, config: str) -> Location:
    # Logged as the route even when refused; the side is decided after the check (see above).
    decision = {k: v for k, v in _decision(route, target="").items() if k != "$sf_override"}
    location = Location(_path_match(route))
    location.sections.add(
        sets(decision),
        method_refusal(),
        _limits(route, table),
        error_pages(),
        auth_directives(route.auth),
        # No file is ever there: try_files is the documented way to go on to a named location
        # after the access phase.
        EmptyBlock(try_files=["/.sf-no-such-file", f"@{route.var}_main"]),
        response_headers(route.name, "gateway", config),
    )
    return location


def _main_location(route: Route, table: RouteTable, config: str) -> Location:
    gated = route.auth is not Auth.NONE
    location = Location(f"@{route.var}_main" if gated else _path_match(route))
    location.sections.add(sets(_decision(route, target=f"${route.var}_target")))
    if not gated:
        location.sections.add(_limits(route, table))
    location.sections.add(
        error_pages(),
        _proxy(f"http://${route.var}_upstream", route.streaming, table, route.resend_posts),
        response_headers(route.name, f"${route.var}_target", config),
    )
    if route.mode.falls_back:
        # The guarded location's own errors must still reach the error pages.
        location.options["recursive_error_pages"] = True
    return location


def _new_location(route: Route, table: RouteTable, config: str) -> Location:
    location = Location(f"@{route.var}_new", recursive_error_pages=True,
                        proxy_intercept_errors=True)  # fmt: skip
    location.sections.add(
        repeated("error_page", [["502", "503", "504", "=", f"@{route.var}_fallback"]]),
        _proxy(f"http://{route.new}", route.streaming, table, route.resend_posts),
        response_headers(route.name, "new", config),
    )
    return location


def _fallback_location(route: Route, table: RouteTable, config: str) -> Location:
    location = Location(f"@{route.var}_fallback", recursive_error_pages=True)
    location.sections.add(
        sets({"$sf_target": "legacy", "$sf_fallback": "true"}),
        error_pages(),
        _proxy(f"http://{route.legacy}", route.streaming, table),
        response_headers(route.name, "legacy", config),
    )
    return location


def _mirror_location(route: Route, table: RouteTable) -> Location:
    # A mirror subrequest shares the user's request variables: read them, never `set` them
    # (except $args, the subrequest's own, so /compare gets no query string).
    location = Location(f"= {_SHADOW_PATH}/{route.name}", **_SHADOW_TIMEOUTS)
    shadow = [
        ["X-Shadow-Route", route.name],
        ["X-Shadow-Uri", "$request_uri"],
        ["X-Shadow-Method", "$request_method"],
        ["Content-Length", '""'],
        ["Connection", '""'],
    ]
    location.sections.add(
        KeyOption("internal"),
        if_return('$sf_mirrorable = ""', 204),
        if_return('$sf_live_sampled = ""', 204),
        sets({"$args": ""}),
        repeated("proxy_set_header", [*upstream_context(), *shadow]),
        EmptyBlock(
            proxy_pass=f"http://{table.gateway.shadow_upstream}/compare",
            proxy_pass_request_body=False,
            proxy_http_version="1.1",
        ),
    )
    return location


def catch_all_location(table: RouteTable, config: str) -> Location:
    """Return ``location /``: every path no route claims goes to the monolith."""
    location = Location("/")
    location.sections.add(
        sets(_decision(None, target="legacy")),
        _limits(None, table),
        error_pages(),
        _proxy(f"http://{table.gateway.catch_all}", False, table),
        response_headers("catch-all", "legacy", config),
    )
    return location


def viewer_locations(table: RouteTable) -> list[Location]:
    """Return the trace viewer's locations (``/traces/`` to the trace store), if it has one."""
    if table.gateway.trace_viewer is None:
        return []
    # Looking at traces must not create traces: no log line, no trace context sent.
    viewer = Location(
        "/traces/", access_log=False, proxy_pass=f"http://{table.gateway.trace_viewer}"
    )
    viewer.sections.add(
        error_pages(),
        repeated(
            "proxy_set_header", [["Host", "$host"], ["Connection", '""'], *identity_headers()]
        ),
        repeated("proxy_hide_header", hidden_upstream_headers()),
        EmptyBlock(proxy_http_version="1.1"),
        add_headers(security_headers()),
    )
    bare = Location("= /traces", access_log=False, **{"return": ["301", "/traces/"]})
    bare.sections.add(add_headers(security_headers()))
    return [viewer, bare]


def _decision(route: Route | None, *, target: str) -> dict[str, str]:
    if route is None:
        return {"$sf_route": "catch-all", "$sf_mode": "legacy", "$sf_target": target,
                "$sf_fallback": "false", "$sf_split": "0", "$sf_override": ""}  # fmt: skip
    override = f"${route.var}_override" if route.honours_override else ""
    decision = {
        "$sf_route": route.name,
        "$sf_mode": str(route.mode),
        # The rendered share, what weights.js serves until a live value is written: set before
        # the target, which weights.js computes from it (`set` runs in order).
        "$sf_split": str(route.new_percent),
        "$sf_target": target,
        "$sf_fallback": "false",
        "$sf_override": override,
    }
    if route.mode is Mode.SHADOW:
        decision["$sf_mirror_percent"] = str(route.mirror_percent)
    return decision


def _proxy(
    upstream: str, streaming: bool, table: RouteTable, resend_posts: bool = False
) -> EmptyBlock:
    block = EmptyBlock(proxy_pass=upstream, proxy_http_version="1.1")
    if resend_posts:
        # nginx passes a POST to the next server only if it was never sent (connection refused).
        # One sent to a server that then reset (a queued connection of a process going down) is
        # passed on too when the route says a repeat has no second effect; once, so a failing
        # upstream costs at most one more try. (On a legacy-mode route the upstream is legacy's
        # single server: nothing to pass to.)
        block.options["proxy_next_upstream"] = ["error", "timeout", "non_idempotent"]
        block.options["proxy_next_upstream_tries"] = 2
    block.sections.add(
        repeated("proxy_set_header", _proxy_headers(streaming)),
        repeated("proxy_hide_header", [*DECISION_HEADERS, *hidden_upstream_headers()]),
    )
    if streaming:
        # Tokens must reach the client as they are produced: no buffering, no compression; the
        # read timeout is the longest silence allowed, above the services' heartbeat. The request
        # body stays buffered: a fallback must be able to send it to legacy a second time.
        seconds = f"{table.gateway.stream_read_seconds}s"
        block.sections.add(
            EmptyBlock(
                proxy_buffering=False,
                gzip=False,
                proxy_read_timeout=seconds,
                proxy_send_timeout=seconds,
            )
        )
    return block


def _proxy_headers(streaming: bool) -> list[Sequence[str]]:
    # Upstream keep-alive needs HTTP/1.1 and no "Connection: close"; a streaming route also
    # passes a WebSocket upgrade through ($sf_connection is "" unless the client asked for one).
    headers: list[Sequence[str]] = [
        ["Host", "$host"],
        ["X-Forwarded-For", "$proxy_add_x_forwarded_for"],
        ["X-Forwarded-Proto", "$scheme"],
        *upstream_context(),
        *identity_headers(),
    ]
    if streaming:
        return [*headers, ["Upgrade", "$http_upgrade"], ["Connection", "$sf_connection"]]
    return [*headers, ["Connection", '""']]


def response_headers(route: str, served_by: str, config: str) -> EmptyBlock:
    """Return the routing decision's response headers and the security headers."""
    return add_headers(decision_headers(route, served_by, config) | security_headers())


def decision_headers(route: str, served_by: str, config: str) -> dict[str, str]:
    """Return the headers that show a client how the gateway routed its request."""
    return {
        "X-Served-By": served_by,
        "X-Route": route,
        "X-Migration-Bucket": "$sf_bucket",
        "X-Migration-Fallback": "$sf_fallback",
        "X-Gateway-Config": config,
        "X-Request-Id": "$request_id",
    }
