"""The HTTP server: the gateway's own paths, the session check, the routes and the catch-all.

Its errors, those nginx makes before it has read the request line included, are answered in the
envelope (``errors``).
"""

from nginx.config.api import Block, EmptyBlock, Location

from strangler_gateway.nginx.console import console_locations
from strangler_gateway.nginx.directives import error_json, sets
from strangler_gateway.nginx.errors import PAGES, error_location, error_pages
from strangler_gateway.nginx.identity import session_locations
from strangler_gateway.nginx.locations import (
    GATEWAY_DECISION,
    catch_all_location,
    decision_headers,
    response_headers,
    route_locations,
    viewer_locations,
)
from strangler_gateway.routetable import RouteTable

__all__ = ["STATUS_PATH", "gateway_server"]

# The gateway's own status page: answers with the id of the config the serving worker runs, which
# is how a reload is known to have taken effect.
STATUS_PATH = "/__gateway/status"


def gateway_server(table: RouteTable, listen: str, ident: str) -> Block:
    """Return the server that routes every request."""
    server = Block("server", listen=[listen, "default_server"], server_name="_")
    server.sections.add(
        error_pages(),
        _status_location(ident),
        _internal_location(ident),
        _reserved_location(ident),
        *session_locations(table),
        *viewer_locations(table),
        *console_locations(table),
        *(location for route in table.routes for location in route_locations(route, table, ident)),
        catch_all_location(table, ident),
        *_error_locations(ident),
    )
    return server


def _error_locations(ident: str) -> list[Location]:
    headers = decision_headers("$sf_route", "gateway", ident)
    return [error_location(page, headers) for page in PAGES]


def _status_location(ident: str) -> Location:
    body = f'{{"status":"ok","config":"{ident}"}}'
    location = Location(f"= {STATUS_PATH}", access_log=False,
                        **{"return": ["200", f"'{body}'"]})  # fmt: skip
    location.sections.add(response_headers("", "gateway", ident))
    return location


def _internal_location(ident: str) -> Location:
    # Service-to-service endpoints are reachable only directly, never through the facade; a regex
    # location wins over every prefix route, so no route can expose them by accident.
    return _not_found("~ ^/internal(/|$)", ident)


def _reserved_location(ident: str) -> Location:
    # The gateway's own prefix: what it does not serve is not found, never the monolith's to answer.
    return _not_found("/__gateway/", ident)


def _not_found(match: str, ident: str) -> Location:
    body = error_json("not_found", "No such resource.")
    # `set` before `return`: rewrite directives run in order, and the log reads the variables.
    return Location(
        match,
        sets(GATEWAY_DECISION),
        EmptyBlock(**{"return": ["404", f"'{body}'"]}),
        response_headers("", "gateway", ident),
    )
