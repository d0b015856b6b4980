"""The route table: which paths the gateway sends to the monolith and which to the new services.

``gateway/routes.toml`` is the single source of truth; the nginx config and the Kubernetes
HTTPRoutes are build output. The table is loaded into frozen objects (``_model``) by a validator
(``_parse``) that refuses anything the gateway would misroute, with an error that names the file,
the line and the field, because the people editing it are in the middle of a migration and need to
know exactly what to fix.
"""

from pathlib import Path

from strangler_gateway._model import (
    ADDRESS,
    IDEMPOTENT_METHODS,
    RESERVED_PREFIXES,
    Compare,
    GatewaySettings,
    GrpcRoute,
    Match,
    Mode,
    Route,
    RouteTable,
    Upstream,
)
from strangler_gateway._parse import parse_table
from strangler_gateway.errors import RouteTableError

__all__ = [
    "ADDRESS",
    "IDEMPOTENT_METHODS",
    "RESERVED_PREFIXES",
    "Compare",
    "GatewaySettings",
    "GrpcRoute",
    "Match",
    "Mode",
    "Route",
    "RouteTable",
    "Upstream",
    "load_route_table",
    "parse_route_table",
]


def load_route_table(path: Path) -> RouteTable:
    """Read and validate the route table at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RouteTableError(f"{path}: cannot read the route table: {exc.strerror}") from exc
    return parse_route_table(text, source=str(path))


def parse_route_table(text: str, *, source: str = "routes.toml") -> RouteTable:
    """Validate route-table TOML ``text``; ``source`` names it in error messages."""
    return parse_table(text, source)
