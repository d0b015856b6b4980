"""The route table: which paths the gateway sends to the monolith and which to the new services.

``gateway/routes.toml`` is the single source of truth; the nginx config is build output. This module
turns the file into frozen objects and refuses anything nginx would misroute, with an error that
names the file, the line and the field, because the people editing it are in the middle of a
migration and need to know exactly what to fix.
"""

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from strangler_gateway._fields import Section, get_bool, get_int, get_str, get_str_list
from strangler_gateway._source import SourceMap
from strangler_gateway.errors import RouteTableError

__all__ = [
    "ADDRESS",
    "PLANNED_MODES",
    "RESERVED_PREFIXES",
    "GatewaySettings",
    "Match",
    "Mode",
    "Route",
    "RouteTable",
    "Upstream",
    "load_route_table",
    "parse_route_table",
]


class Mode(StrEnum):
    """How a route's traffic is split between its legacy and its new upstream."""

    LEGACY = "legacy"
    CANARY = "canary"
    MIGRATED = "migrated"
    RETIRED = "retired"


class Match(StrEnum):
    """How a route's path is compared with the request's path."""

    PREFIX = "prefix"
    EXACT = "exact"


# Modes of the design that the gateway does not build yet; refused with a clear word, not "unknown".
PLANNED_MODES = {"shadow": "mode 'shadow' is not supported yet (it comes with the comparison step)"}

# Paths no route may claim: service-to-service endpoints and the gateway's own status page.
RESERVED_PREFIXES = ("/internal", "/__gateway")

_NAME = r"[a-z][a-z0-9-]{0,39}"
_UPSTREAM = r"[a-z][a-z0-9_]{0,39}"
# host:port of a listener or an upstream server.
ADDRESS = r"[A-Za-z0-9.-]+:[0-9]{1,5}"
_PATH = r"/[A-Za-z0-9._~/-]*"
_COOKIE = r"[A-Za-z0-9_]+"
_HEADER = r"[A-Za-z0-9-]+"
_SIZE = r"[0-9]+[kKmMgG]?"
_GATEWAY_KEYS = {
    "listen",
    "catch_all",
    "sticky_cookie",
    "sticky_header",
    "override_header",
    "max_stream_seconds",
    "client_max_body_size",
}
_UPSTREAM_KEYS = {"servers", "keepalive"}
_ROUTE_KEYS = {"name", "path", "match", "legacy", "new", "mode", "percent", "override", "streaming"}


@dataclass(frozen=True)
class Upstream:
    """A named group of servers the gateway can proxy to."""

    name: str
    servers: tuple[str, ...]
    keepalive: int = 16


@dataclass(frozen=True)
class Route:
    """One path, its two upstreams and how traffic is currently split between them."""

    name: str
    path: str
    legacy: str
    new: str
    mode: Mode
    percent: int | None = None
    match: Match = Match.PREFIX
    override: bool = True
    streaming: bool = False

    @property
    def var(self) -> str:
        """Return the route's name as it appears in nginx variable names."""
        return self.name.replace("-", "_")

    @property
    def new_percent(self) -> int:
        """Return the share of users (0..100) the route sends to the new upstream."""
        if self.mode is Mode.CANARY:
            return self.percent or 0
        return 0 if self.mode is Mode.LEGACY else 100

    def overlaps(self, other: "Route") -> bool:
        """Return whether some request path would match both routes."""
        if self.match is Match.EXACT and other.match is Match.EXACT:
            return self.path == other.path
        if self.match is Match.PREFIX and other.match is Match.PREFIX:
            return self.path.startswith(other.path) or other.path.startswith(self.path)
        exact, prefix = (self, other) if self.match is Match.EXACT else (other, self)
        return exact.path.startswith(prefix.path)


@dataclass(frozen=True)
class GatewaySettings:
    """Table-wide settings: where the gateway listens and how it recognises a user."""

    listen: str
    catch_all: str
    sticky_cookie: str = "sf_uid"
    sticky_header: str = "X-User-Id"
    override_header: str = "X-Migration-Target"
    max_stream_seconds: int = 300
    client_max_body_size: str = "10m"


@dataclass(frozen=True)
class RouteTable:
    """The whole validated table."""

    gateway: GatewaySettings
    upstreams: tuple[Upstream, ...]
    routes: tuple[Route, ...]

    def upstream(self, name: str) -> Upstream:
        """Return the upstream called ``name``."""
        for upstream in self.upstreams:
            if upstream.name == name:
                return upstream
        raise RouteTableError(f"no upstream named '{name}'")

    def route(self, name: str) -> Route:
        """Return the route called ``name``."""
        for route in self.routes:
            if route.name == name:
                return route
        known = ", ".join(route.name for route in self.routes) or "none"
        raise RouteTableError(f"no route named '{name}' (routes: {known})")


def load_route_table(path: Path) -> RouteTable:
    """Read and validate the route table at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RouteTableError(f"{path}: cannot read the route table: {exc.strerror}") from exc
    return parse_route_table(text, source=str(path))


def parse_route_table(text: str, *, source: str = "routes.toml") -> RouteTable:
    """Validate route-table TOML ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RouteTableError(f"{source}: not valid TOML: {exc}") from exc
    src = SourceMap.of(text)
    top = Section("the route table", None, source, src)
    top.refuse_unknown(data, {"gateway", "upstreams", "routes"})
    upstreams = _upstreams(data.get("upstreams"), top)
    names = {upstream.name for upstream in upstreams}
    gateway = _gateway(data.get("gateway"), top.child("[gateway]", src.table("gateway")), names)
    routes = _routes(data.get("routes", []), top, names)
    return RouteTable(gateway=gateway, upstreams=upstreams, routes=routes)


def _gateway(data: object, section: Section, upstreams: set[str]) -> GatewaySettings:
    if not isinstance(data, dict):
        raise section.error(None, "missing: the route table needs a [gateway] table")
    section.refuse_unknown(data, _GATEWAY_KEYS)
    catch_all = get_str(data, "catch_all", section, pattern=_UPSTREAM)
    if catch_all not in upstreams:
        raise section.error("catch_all", f"unknown upstream '{catch_all}'{_known(upstreams)}")
    base = GatewaySettings(listen=_address(data, "listen", section), catch_all=catch_all)
    return replace(
        base,
        sticky_cookie=get_str(
            data, "sticky_cookie", section, pattern=_COOKIE, default=base.sticky_cookie
        ),
        sticky_header=get_str(
            data, "sticky_header", section, pattern=_HEADER, default=base.sticky_header
        ),
        override_header=get_str(
            data, "override_header", section, pattern=_HEADER, default=base.override_header
        ),
        max_stream_seconds=get_int(
            data, "max_stream_seconds", section, 1, 86400, default=base.max_stream_seconds
        ),
        client_max_body_size=get_str(
            data, "client_max_body_size", section, pattern=_SIZE, default=base.client_max_body_size
        ),
    )


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
    if not _matches(_UPSTREAM, name):
        raise section.error(None, "name must be lowercase letters, digits and '_' (nginx names)")
    section.refuse_unknown(data, _UPSTREAM_KEYS)
    servers = get_str_list(data, "servers", section, pattern=ADDRESS)
    keepalive = get_int(data, "keepalive", section, 1, 1024, default=Upstream.keepalive)
    return Upstream(name=name, servers=servers, keepalive=keepalive)


def _routes(data: object, top: Section, upstreams: set[str]) -> tuple[Route, ...]:
    if not isinstance(data, list):
        raise top.error("routes", "must be an array of tables ([[routes]])")
    routes: list[Route] = []
    for index, item in enumerate(data):
        section = top.child(f"route #{index + 1}", top.src.array_item("routes", index))
        route = _route(item, section, upstreams)
        _refuse_clash(route, routes, section.renamed(f"route '{route.name}'"))
        routes.append(route)
    return tuple(routes)


def _route(data: object, section: Section, upstreams: set[str]) -> Route:
    if not isinstance(data, dict):
        raise section.error(None, "must be a table")
    name = get_str(data, "name", section, pattern=_NAME)
    section = section.renamed(f"route '{name}'")
    section.refuse_unknown(data, _ROUTE_KEYS)
    mode = _mode(data, section)
    return Route(
        name=name,
        path=_path(data, section),
        legacy=_upstream_ref(data, "legacy", section, upstreams),
        new=_upstream_ref(data, "new", section, upstreams),
        mode=mode,
        percent=_percent(data, section, mode),
        match=Match(get_str(data, "match", section, choices=list(Match), default=Match.PREFIX)),
        override=get_bool(data, "override", section, default=True),
        streaming=get_bool(data, "streaming", section, default=False),
    )


def _path(data: dict[str, object], section: Section) -> str:
    path = get_str(data, "path", section, pattern=_PATH)
    if path == "/":
        raise section.error("path", "'/' is the catch-all; set [gateway] catch_all instead")
    for reserved in RESERVED_PREFIXES:
        if path == reserved or path.startswith(reserved + "/"):
            raise section.error("path", f"'{path}' overlaps '{reserved}/', which is never exposed")
    return path


def _mode(data: dict[str, object], section: Section) -> Mode:
    value = get_str(data, "mode", section)
    if value in PLANNED_MODES:
        raise section.error("mode", PLANNED_MODES[value])
    if value not in set(Mode):
        raise section.error("mode", f"unknown mode '{value}' (one of: {', '.join(Mode)})")
    return Mode(value)


def _percent(data: dict[str, object], section: Section, mode: Mode) -> int | None:
    if mode is not Mode.CANARY:
        if "percent" in data:
            raise section.error("percent", f"only mode 'canary' takes a percent (mode is '{mode}')")
        return None
    if "percent" not in data:
        raise section.error("percent", "missing: mode 'canary' needs percent = 0..100")
    return get_int(data, "percent", section, 0, 100)


def _upstream_ref(data: dict[str, object], key: str, section: Section, known: set[str]) -> str:
    name = get_str(data, key, section)
    if name not in known:
        raise section.error(key, f"unknown upstream '{name}'{_known(known)}")
    if key == "new" and data.get("legacy") == name:
        raise section.error(key, f"'{name}' is also the legacy upstream: nothing to migrate")
    return name


def _refuse_clash(route: Route, earlier: Iterable[Route], section: Section) -> None:
    for other in earlier:
        if other.name == route.name:
            raise section.error("name", f"duplicate route name '{route.name}'")
        if route.overlaps(other):
            raise section.error(
                "path", f"'{route.path}' overlaps route '{other.name}' ('{other.path}')"
            )


def _known(names: set[str]) -> str:
    return f" (known: {', '.join(sorted(names))})" if names else ""


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None
