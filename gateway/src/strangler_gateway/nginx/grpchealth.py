"""gRPC health checks routed to the service they ask about, read from the request by njs.

``grpc.health.v1.Health/Check`` and ``/Watch`` have the same path whichever service they ask
about: the name is in the request message (``HealthCheckRequest.service``). Routing by path alone
sent every health call to one owner, so asking about rag through the gateway was ``NOT_FOUND``.
nginx's njs module reads the one small message (``health.js``: the gRPC frame, then protobuf
field 1) and redirects the call, body included, to the named location of the route that lists
that service. The empty name (the server as a whole), a name no route lists, and a message that
cannot be read (compressed) go to the route that lists ``grpc.health.v1.Health`` itself, which
answers ``NOT_FOUND`` for names it does not serve, as the health protocol says.
"""

from pathlib import Path

from nginx.config.api import Block, EmptyBlock, KeyValueOption, Location

from strangler_gateway.routetable import GrpcRoute, RouteTable

__all__ = ["HEALTH_SERVICE", "health_js", "health_location", "health_owner", "health_target"]

HEALTH_SERVICE = "grpc.health.v1.Health"
_SCRIPT = Path(__file__).with_name("health.js")
# A HealthCheckRequest is a service name: a few hundred bytes at most, read into memory whole.
_MAX_MESSAGE = "4k"


def health_owner(table: RouteTable) -> GrpcRoute | None:
    """Return the route that lists the health service, or None when no route does."""
    for route in table.grpc:
        if HEALTH_SERVICE in route.services:
            return route
    return None


def health_target(route: GrpcRoute) -> str:
    """Return the named location that sends a health call to ``route``'s upstream."""
    return f"@sf_health_{route.var}"


def health_js(table: RouteTable) -> EmptyBlock:
    """Return the http-level njs module and the map from a service name to its health location."""
    owner = health_owner(table)
    if owner is None:
        return EmptyBlock()
    names = {f'"{service}"': health_target(route) for route in table.grpc
             for service in route.services if service != HEALTH_SERVICE}  # fmt: skip
    return EmptyBlock(
        KeyValueOption("js_path", f'"{_SCRIPT.parent}/"'),
        KeyValueOption("js_import", f"sf_health from {_SCRIPT.name}"),
        KeyValueOption("js_var", "$sf_health_service"),
        Block("map $sf_health_service $sf_health_location", default=health_target(owner), **names),
    )


def health_location() -> Location:
    """Return the location that reads a health call's service name and redirects it."""
    return Location(
        f"/{HEALTH_SERVICE}/",
        client_max_body_size=_MAX_MESSAGE,
        client_body_buffer_size=_MAX_MESSAGE,
        js_content="sf_health.route",
    )
