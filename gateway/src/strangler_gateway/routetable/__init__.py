"""The route table: which paths the gateway sends to the monolith and which to the new services.

``gateway/routes.toml`` is the single source of truth; the nginx config and the Kubernetes
HTTPRoutes are build output. The table is loaded into frozen objects by a validator that refuses
anything the gateway would misroute, with an error that names the file, the line and the field,
because the people editing it are in the middle of a migration and need to know exactly what to fix.

- ``model``: the frozen objects (routes, their modes and percentages, upstreams, gRPC routes).
- ``load``: read a table from a file or text (``load_route_table``).
- ``parse``: the validation of every section and field.
- ``fields``: typed field readers whose errors name the line.
- ``source``: where a table or key sits in the TOML text.
- ``edit``: change one route's mode in the file in place, keeping its comments (tomlkit).
"""

from strangler_gateway.routetable.edit import RouteChange, change_route_mode
from strangler_gateway.routetable.load import load_route_table, parse_route_table
from strangler_gateway.routetable.model import (
    ADDRESS,
    IDEMPOTENT_METHODS,
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

__all__ = [
    "ADDRESS",
    "IDEMPOTENT_METHODS",
    "RESERVED_PREFIXES",
    "Auth",
    "Compare",
    "GatewaySettings",
    "GrpcRoute",
    "Match",
    "Mode",
    "Route",
    "RouteChange",
    "RouteTable",
    "Upstream",
    "change_route_mode",
    "load_route_table",
    "parse_route_table",
]
