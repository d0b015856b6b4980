"""Validate routes.toml into a RouteTable, naming the file, line and field of every mistake."""

import re
import tomllib
from collections.abc import Iterable
from dataclasses import replace

from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable.fields import (
    Section,
    get_bool,
    get_int,
    get_percent,
    get_str,
    get_str_list,
)
from strangler_gateway.routetable.model import (
    ADDRESS,
    RESERVED_PREFIXES,
    Auth,
    Compare,
    GatewaySettings,
    GrpcRoute,
    Match,
    Mode,
    Route,
    RouteTable,
    Upstream,
)
from strangler_gateway.routetable.source import SourceMap

__all__ = ["parse_table"]

_NAME = r"[a-z][a-z0-9-]{0,39}"
_UPSTREAM = r"[a-z][a-z0-9_]{0,39}"
_PATH = r"/[A-Za-z0-9._~/-]*"
_COOKIE = r"[A-Za-z0-9_]+"
_HEADER = r"[A-Za-z0-9-]+"
_SIZE = r"[0-9]+[kKmMgG]?"
# An nginx request rate: "50r/s" or "600r/m".
_RATE = r"[1-9][0-9]{0,5}r/[sm]"
# A host name or an IPv4 address (server_name); no wildcards: the gateway's hosts are explicit.
_HOST = (
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
# A fully qualified protobuf service name, e.g. strangler.core.v1.CoreService.
_SERVICE = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+"
# A JSON path the comparator ignores: "k", "results[].score", "sources[].title".
_JSON_PATH = r"[A-Za-z0-9_]+(\[\])?(\.[A-Za-z0-9_]+(\[\])?)*"
# The services' SSE heartbeat: a stream's read timeout must outlast it.
_HEARTBEAT_SECONDS = 10
_GATEWAY_KEYS = {
    "listen",
    "grpc_listen",
    "catch_all",
    "sticky_cookie",
    "sticky_header",
    "override_header",
    "max_stream_seconds",
    "stream_read_seconds",
    "read_seconds",
    "client_max_body_size",
    "shadow_upstream",
    "trace_viewer",
    "console",
    "session_cookie",
    "server_names",
    "rate_limit",
    "rate_burst",
    "trace_sample_percent",
}
_UPSTREAM_KEYS = {"servers", "keepalive", "keepalive_timeout", "fail_timeout"}
_ROUTE_KEYS = {
    "name",
    "path",
    "match",
    "legacy",
    "new",
    "mode",
    "percent",
    "override",
    "streaming",
    "resend_posts",
    "compare",
    "ignore",
    # The route's rollout plan: checked by traffic.rollout.plan when a rollout starts.
    "rollout",
    "auth",
    "max_body",
}
_GRPC_KEYS = {"name", "services", "upstream"}


def parse_table(text: str, source: str) -> RouteTable:
    """Validate route-table TOML ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RouteTableError(f"{source}: not valid TOML: {exc}") from exc
    src = SourceMap.of(text)
    top = Section("the route table", None, source, src)
    top.refuse_unknown(data, {"gateway", "upstreams", "routes", "grpc"})
    upstreams = _upstreams(data.get("upstreams"), top)
    names = {upstream.name for upstream in upstreams}
    gateway = _gateway(data.get("gateway"), top.child("[gateway]", src.table("gateway")), names)
    routes = _routes(data.get("routes", []), top, names, gateway)
    grpc = _grpc_routes(data.get("grpc", []), top, names, gateway)
    return RouteTable(gateway=gateway, upstreams=upstreams, routes=routes, grpc=grpc)


def _gateway(data: object, section: Section, upstreams: set[str]) -> GatewaySettings:
    if not isinstance(data, dict):
        raise section.error(None, "missing: the route table needs a [gateway] table")
    section.refuse_unknown(data, _GATEWAY_KEYS)
    base = GatewaySettings(
        listen=_address(data, "listen", section),
        catch_all=_known_upstream(data, "catch_all", section, upstreams),
    )
    grpc_listen = _address(data, "grpc_listen", section) if "grpc_listen" in data else None
    if grpc_listen == base.listen:
        raise section.error("grpc_listen", f"'{grpc_listen}' is also the HTTP listen address")
    return _edges(
        data,
        section,
        replace(
            base,
            grpc_listen=grpc_listen,
            sticky_cookie=_str(data, "sticky_cookie", section, _COOKIE, base.sticky_cookie),
            sticky_header=_str(data, "sticky_header", section, _HEADER, base.sticky_header),
            override_header=_str(data, "override_header", section, _HEADER, base.override_header),
            max_stream_seconds=get_int(
                data, "max_stream_seconds", section, 1, 86400, default=base.max_stream_seconds
            ),
            stream_read_seconds=get_int(
                data,
                "stream_read_seconds",
                section,
                _HEARTBEAT_SECONDS + 1,
                86400,
                default=base.stream_read_seconds,
            ),
            read_seconds=get_int(data, "read_seconds", section, 1, 3600, default=base.read_seconds),
            client_max_body_size=_str(
                data, "client_max_body_size", section, _SIZE, base.client_max_body_size
            ),
            shadow_upstream=get_str(
                data, "shadow_upstream", section, pattern=_UPSTREAM, default=base.shadow_upstream
            ),
            trace_viewer=(
                _known_upstream(data, "trace_viewer", section, upstreams)
                if "trace_viewer" in data
                else None
            ),
            console=(
                _known_upstream(data, "console", section, upstreams) if "console" in data else None
            ),
        ),
    )


def _edges(data: dict[str, object], section: Section, base: GatewaySettings) -> GatewaySettings:
    # What the facade enforces for every client: whose session it asks about, the hosts it
    # serves, and the per-client rate; and the share of the traces it starts that are sampled.
    names = (
        get_str_list(data, "server_names", section, pattern=_HOST)
        if "server_names" in data
        else base.server_names
    )
    return replace(
        base,
        session_cookie=_str(data, "session_cookie", section, _COOKIE, base.session_cookie),
        server_names=names,
        rate_limit=_str(data, "rate_limit", section, _RATE, base.rate_limit),
        rate_burst=get_int(data, "rate_burst", section, 0, 100_000, default=base.rate_burst),
        trace_sample_percent=get_percent(
            data, "trace_sample_percent", section, default=base.trace_sample_percent
        ),
    )


def _str(data: dict[str, object], key: str, section: Section, pattern: str, default: str) -> str:
    return get_str(data, key, section, pattern=pattern, default=default)


def _known_upstream(data: dict[str, object], key: str, section: Section, known: set[str]) -> str:
    name = get_str(data, key, section, pattern=_UPSTREAM)
    if name not in known:
        raise section.error(key, f"unknown upstream '{name}'{_known(known)}")
    return name


def _address(data: dict[str, object], key: str, section: Section) -> str:
    address = get_str(data, key, section, pattern=ADDRESS)
    if not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise section.error(key, f"port out of range in '{address}'")
    return address


def _upstreams(data: object, top: Section) -> tuple[Upstream, ...]:
    if not isinstance(data, dict) or not data:
        raise top.error(None, "missing: at least one [upstreams.<name>] table is needed")
    return tuple(_upstream(name, value, top) for name, value in data.items())


def _upstream(name: str, data: object, top: Section) -> Upstream:
    src = top.src
    line = src.table(f"upstreams.{name}") or src.key(src.table("upstreams"), name)
    section = top.child(f"upstream '{name}'", line)
    if not isinstance(data, dict):
        raise section.error(None, "must be a table with a 'servers' list")
    if not re.fullmatch(_UPSTREAM, name):
        raise section.error(None, "name must be lowercase letters, digits and '_' (nginx names)")
    section.refuse_unknown(data, _UPSTREAM_KEYS)
    servers = get_str_list(data, "servers", section, pattern=ADDRESS)
    keepalive = get_int(data, "keepalive", section, 1, 1024, default=Upstream.keepalive)
    idle = get_int(data, "keepalive_timeout", section, 1, 3600, default=Upstream.keepalive_timeout)
    left_out = get_int(data, "fail_timeout", section, 1, 3600, default=Upstream.fail_timeout)
    return Upstream(
        name=name,
        servers=servers,
        keepalive=keepalive,
        keepalive_timeout=idle,
        fail_timeout=left_out,
    )


def _routes(
    data: object, top: Section, upstreams: set[str], gateway: GatewaySettings
) -> tuple[Route, ...]:
    if not isinstance(data, list):
        raise top.error("routes", "must be an array of tables ([[routes]])")
    routes: list[Route] = []
    for index, item in enumerate(data):
        section = top.child(f"route #{index + 1}", top.src.array_item("routes", index))
        route = _route(item, section, upstreams, gateway)
        _refuse_clash(route, routes, section.renamed(f"route '{route.name}'"))
        routes.append(route)
    return tuple(routes)


def _route(data: object, section: Section, upstreams: set[str], gateway: GatewaySettings) -> Route:
    if not isinstance(data, dict):
        raise section.error(None, "must be a table")
    name = get_str(data, "name", section, pattern=_NAME)
    section = section.renamed(f"route '{name}'")
    section.refuse_unknown(data, _ROUTE_KEYS)
    mode = _mode(data, section, upstreams, gateway)
    return Route(
        name=name,
        path=_path(data, section),
        legacy=_known_upstream(data, "legacy", section, upstreams),
        new=_new_upstream(data, section, upstreams),
        mode=mode,
        percent=_percent(data, section, mode),
        match=Match(get_str(data, "match", section, choices=list(Match), default=Match.PREFIX)),
        override=get_bool(data, "override", section, default=True),
        streaming=get_bool(data, "streaming", section, default=False),
        resend_posts=get_bool(data, "resend_posts", section, default=False),
        compare=Compare(
            get_str(data, "compare", section, choices=list(Compare), default=Compare.JSON)
        ),
        ignore=_ignore(data, section),
        auth=Auth(get_str(data, "auth", section, choices=list(Auth), default=Auth.NONE)),
        max_body=(
            get_str(data, "max_body", section, pattern=_SIZE) if "max_body" in data else None
        ),
    )


def _path(data: dict[str, object], section: Section) -> str:
    path = get_str(data, "path", section, pattern=_PATH)
    if path == "/":
        raise section.error("path", "'/' is the catch-all; set [gateway] catch_all instead")
    for reserved in RESERVED_PREFIXES:
        if path == reserved or path.startswith(reserved + "/"):
            raise section.error("path", f"'{path}' overlaps '{reserved}/', which is never routed")
    return path


def _mode(
    data: dict[str, object], section: Section, upstreams: set[str], gateway: GatewaySettings
) -> Mode:
    value = get_str(data, "mode", section)
    if value not in set(Mode):
        raise section.error("mode", f"unknown mode '{value}' (one of: {', '.join(Mode)})")
    mode = Mode(value)
    if mode is Mode.SHADOW and gateway.shadow_upstream not in upstreams:
        raise section.error(
            "mode",
            f"mode 'shadow' mirrors to the comparator upstream '{gateway.shadow_upstream}', "
            f"which the table does not define ([upstreams.{gateway.shadow_upstream}])",
        )
    return mode


def _percent(data: dict[str, object], section: Section, mode: Mode) -> int | None:
    if not mode.takes_percent:
        if "percent" in data:
            raise section.error(
                "percent", f"only modes 'canary' and 'shadow' take a percent (mode is '{mode}')"
            )
        return None
    if "percent" not in data:
        raise section.error("percent", f"missing: mode '{mode}' needs percent = 0..100")
    return get_int(data, "percent", section, 0, 100)


def _ignore(data: dict[str, object], section: Section) -> tuple[str, ...]:
    value = data.get("ignore", [])
    if value == []:
        return ()
    return get_str_list(data, "ignore", section, pattern=_JSON_PATH)


def _new_upstream(data: dict[str, object], section: Section, known: set[str]) -> str:
    name = _known_upstream(data, "new", section, known)
    if data.get("legacy") == name:
        raise section.error("new", f"'{name}' is also the legacy upstream: nothing to migrate")
    return name


def _refuse_clash(route: Route, earlier: Iterable[Route], section: Section) -> None:
    for other in earlier:
        if other.name == route.name:
            raise section.error("name", f"duplicate route name '{route.name}'")
        if route.overlaps(other):
            raise section.error(
                "path", f"'{route.path}' overlaps route '{other.name}' ('{other.path}')"
            )


def _grpc_routes(
    data: object, top: Section, upstreams: set[str], gateway: GatewaySettings
) -> tuple[GrpcRoute, ...]:
    if not isinstance(data, list):
        raise top.error("grpc", "must be an array of tables ([[grpc]])")
    routes: list[GrpcRoute] = []
    for index, item in enumerate(data):
        section = top.child(f"grpc route #{index + 1}", top.src.array_item("grpc", index))
        if gateway.grpc_listen is None:
            raise section.error(None, 'gRPC routes need [gateway] grpc_listen = "host:port"')
        routes.append(_grpc_route(item, section, upstreams, routes))
    return tuple(routes)


def _grpc_route(
    data: object, section: Section, upstreams: set[str], earlier: list[GrpcRoute]
) -> GrpcRoute:
    if not isinstance(data, dict):
        raise section.error(None, "must be a table")
    name = get_str(data, "name", section, pattern=_NAME)
    section = section.renamed(f"grpc route '{name}'")
    section.refuse_unknown(data, _GRPC_KEYS)
    services = get_str_list(data, "services", section, pattern=_SERVICE)
    for other in earlier:
        if other.name == name:
            raise section.error("name", f"duplicate gRPC route name '{name}'")
        taken = set(services) & set(other.services)
        if taken:
            raise section.error(
                "services", f"'{sorted(taken)[0]}' is already routed by '{other.name}'"
            )
    upstream = _known_upstream(data, "upstream", section, upstreams)
    return GrpcRoute(name=name, services=services, upstream=upstream)


def _known(names: set[str]) -> str:
    return f" (known: {', '.join(sorted(names))})" if names else ""
