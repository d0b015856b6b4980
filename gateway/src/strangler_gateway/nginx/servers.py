"""The HTTP servers: the gateway's own, for the hosts it serves, and a default for every other.

A request reaches the gateway's server only with a ``Host`` the table lists (``server_names``);
anything else, an HTTP/1.0 request without ``Host`` included, lands on the default server, which
answers 421 in the envelope and proxies nothing. Django would refuse such a host too, but the local
stack runs it with DEBUG on, where the refusal is a page of settings and file paths. Both servers
answer the errors nginx makes before it knows the host (a malformed or oversized request line) in
the envelope, and both serve the status page, which is how a reload is confirmed whatever address
the gateway listens on.
"""

from nginx.config.api import Block, EmptyBlock, Location

from strangler_gateway.nginx.console import console_locations
from strangler_gateway.nginx.directives import error_json, sets
from strangler_gateway.nginx.errors import PAGES, error_location, error_pages
from strangler_gateway.nginx.hardening import security_headers, server_names, unknown_host_location
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

__all__ = ["STATUS_PATH", "default_server", "gateway_server"]

# The gateway's own status page: answers with the id of the config the serving worker runs, which
# is how a reload is known to have taken effect.
STATUS_PATH = "/__gateway/status"


def gateway_server(table: RouteTable, listen: str, ident: str) -> Block:
    """Return the server that routes the table's hosts."""
    server = Block("server", listen=listen, server_name=server_names(table))
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


def default_server(listen: str, ident: str) -> Block:
    """Return the server for every host the table does not list: 421, nothing proxied."""
    server = Block("server", listen=[listen, "default_server"], server_name='""')
    headers = decision_headers("", "gateway", ident) | security_headers()
    server.sections.add(
        error_pages(),
        _status_location(ident),
        unknown_host_location(headers, GATEWAY_DECISION),
        *_error_locations(ident),
    )
    return server


def _error_locations(ident: str) -> list[Location]:
    headers = decision_headers("$sf_route", "gateway", ident) | security_headers()
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
