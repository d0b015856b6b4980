"""The route table's objects: routes, upstreams, gRPC routes and table-wide settings.

Frozen, validated values: ``parse`` builds them from routes.toml and nothing else creates them
from user input, so every consumer (the renderer, the CLI, the Kubernetes manifests, the shadow
comparator) can trust them.
"""

from dataclasses import dataclass
from enum import StrEnum

from strangler_shared import IDLE_CONNECTION_SECONDS

from strangler_gateway.errors import RouteTableError


class Mode(StrEnum):
    """How a route's traffic is split between its legacy and its new upstream."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANARY = "canary"
    MIGRATED = "migrated"
    RETIRED = "retired"

    @property
    def takes_percent(self) -> bool:
        """Return whether the mode needs a ``percent`` (canary: users on new; shadow: mirrored)."""
        return self in (Mode.CANARY, Mode.SHADOW)

    @property
    def falls_back(self) -> bool:
        """Return whether requests sent to new are retried on legacy when new fails."""
        return self in (Mode.CANARY, Mode.MIGRATED)


class Match(StrEnum):
    """How a route's path is compared with the request's path."""

    PREFIX = "prefix"
    EXACT = "exact"


class Auth(StrEnum):
    """Whether a route needs a signed-in user, asked of the monolith before each request."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class Compare(StrEnum):
    """How the shadow comparator compares a route's legacy and new answers."""

    JSON = "json"
    SEARCH = "search"
    CHAT = "chat"


# Paths no route may claim: service-to-service endpoints, the gateway's own pages and the trace
# viewer it serves.
RESERVED_PREFIXES = ("/internal", "/__gateway", "/traces", "/console")
# RFC 9110 idempotent methods: the only ones the gateway ever re-sends to legacy after new failed.
IDEMPOTENT_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
# host:port of a listener or an upstream server.
ADDRESS = r"[A-Za-z0-9.-]+:[0-9]{1,5}"


@dataclass(frozen=True)
class Upstream:
    """A named group of servers the gateway can proxy to."""

    name: str
    servers: tuple[str, ...]
    keepalive: int = 16
    # Seconds an idle kept-alive connection may still be reused: below the servers' own idle
    # timeout, so nginx ends it first (nginx's own default, 60 s, is longer than uvicorn's 5 s).
    keepalive_timeout: int = IDLE_CONNECTION_SECONDS
    # Seconds a server is left out after a failed attempt (nginx's own default, 10 s). Processes
    # that restart in a second want less: else a second one going down inside that window leaves
    # nginx no live server at all.
    fail_timeout: int = 10


@dataclass(frozen=True)
class Route:
    """One path, its two upstreams and how traffic is currently split between them.

    ``percent`` is the mode's parameter: the share of users sent to new (canary) or the cap on the
    share of idempotent requests mirrored to the comparator (shadow). ``compare`` and ``ignore``
    tell the comparator how to compare the two answers; they are kept whatever the mode, so a route
    keeps its comparison rule across a promotion and a rollback. ``resend_posts`` says the new
    side answers a repeated POST without a second effect (webhook intake, idempotent by event id),
    so a POST whose server of the new upstream failed may go to another server of that upstream.
    ``auth`` says whether the gateway asks the monolith who the user is first (``required``:
    anonymous is 401; ``optional``: the identity is passed when there is one); ``max_body`` caps
    the request body (the table-wide ``client_max_body_size`` when unset).
    """

    name: str
    path: str
    legacy: str
    new: str
    mode: Mode
    percent: int | None = None
    match: Match = Match.PREFIX
    override: bool = True
    streaming: bool = False
    resend_posts: bool = False
    compare: Compare = Compare.JSON
    ignore: tuple[str, ...] = ()
    auth: Auth = Auth.NONE
    max_body: str | None = None

    @property
    def var(self) -> str:
        """Return the route's name as it appears in nginx variable names."""
        return self.name.replace("-", "_")

    @property
    def new_percent(self) -> int:
        """Return the share of users (0..100) the route sends to the new upstream."""
        if self.mode is Mode.CANARY:
            return self.percent or 0
        return 100 if self.mode in (Mode.MIGRATED, Mode.RETIRED) else 0

    @property
    def mirror_percent(self) -> int:
        """Return the share of idempotent requests (0..100) mirrored to the comparator."""
        return (self.percent or 0) if self.mode is Mode.SHADOW else 0

    @property
    def honours_override(self) -> bool:
        """Return whether the tester's override header can force a side on this route now."""
        # A retired route has no legacy side left to force.
        return self.override and self.mode is not Mode.RETIRED

    def overlaps(self, other: "Route") -> bool:
        """Return whether some request path would match both routes."""
        if self.match is Match.EXACT and other.match is Match.EXACT:
            return self.path == other.path
        if self.match is Match.PREFIX and other.match is Match.PREFIX:
            return self.path.startswith(other.path) or other.path.startswith(self.path)
        exact, prefix = (self, other) if self.match is Match.EXACT else (other, self)
        return exact.path.startswith(prefix.path)


@dataclass(frozen=True)
class GrpcRoute:
    """gRPC services (by fully qualified name) the gateway sends to one upstream."""

    name: str
    services: tuple[str, ...]
    upstream: str

    @property
    def var(self) -> str:
        """Return the route's name as it appears in nginx variable names."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class GatewaySettings:
    """Table-wide settings: where the gateway listens and how it recognises a user."""

    listen: str
    catch_all: str
    sticky_cookie: str = "sf_uid"
    sticky_header: str = "X-User-Id"
    override_header: str = "X-Migration-Target"
    max_stream_seconds: int = 300
    stream_read_seconds: int = 60
    read_seconds: int = 60
    client_max_body_size: str = "10m"
    # The monolith's session cookie, sent to its session check before routes that need a user.
    session_cookie: str = "sessionid"
    # The host names the gateway answers for; any other Host is a 421.
    server_names: tuple[str, ...] = ("127.0.0.1", "localhost")
    # Requests per client key (nginx rate: "50r/s", "600r/m") and the burst allowed above it.
    rate_limit: str = "50r/s"
    rate_burst: int = 100
    # The share of the traces the gateway starts that are sampled (recorded by every service and
    # the trace store), 0..100 in steps of 0.01; a client's own traceparent keeps its flag.
    trace_sample_percent: float = 100
    grpc_listen: str | None = None
    shadow_upstream: str = "shadow"
    trace_viewer: str | None = None
    console: str | None = None


@dataclass(frozen=True)
class RouteTable:
    """The whole validated table."""

    gateway: GatewaySettings
    upstreams: tuple[Upstream, ...]
    routes: tuple[Route, ...]
    grpc: tuple[GrpcRoute, ...] = ()

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

    @property
    def shadowing(self) -> bool:
        """Return whether some route mirrors requests to the comparator."""
        return any(route.mode is Mode.SHADOW for route in self.routes)
