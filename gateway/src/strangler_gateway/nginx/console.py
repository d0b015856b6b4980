"""The migration console's locations: ``/console/`` to the console app, behind the gateway.

The console sits behind the gateway so that one port serves everything a person opens, and so
that the identity the console trusts is the one the gateway set: like a route with
``auth = "optional"``, every request first asks the monolith who the user is (``auth_request``),
a signed-in user's signed token goes on as ``X-Identity``, an anonymous request goes on without
one (reading is open; the console refuses anonymous actions), and a client's own ``X-Identity``
never passes. Looking at the console is not traffic: no access-log line, no trace.
"""

from nginx.config.api import EmptyBlock, Location

from strangler_gateway.nginx.directives import repeated
from strangler_gateway.nginx.identity import auth_directives, identity_headers
from strangler_gateway.routetable import Auth, RouteTable

__all__ = ["CONSOLE_PATH", "console_locations"]

CONSOLE_PATH = "/console/"


def console_locations(table: RouteTable) -> list[Location]:
    """Return the console's locations, if the table names a console upstream."""
    if table.gateway.console is None:
        return []
    console = Location(CONSOLE_PATH, access_log=False)
    console.sections.add(
        auth_directives(Auth.OPTIONAL),
        EmptyBlock(proxy_pass=f"http://{table.gateway.console}", proxy_http_version="1.1"),
        repeated(
            "proxy_set_header",
            [["Host", "$host"], ["Connection", '""'], *identity_headers()],
        ),
        # Live updates are server-sent events: each must reach the browser when it is sent.
        EmptyBlock(proxy_buffering=False),
    )
    bare = Location("= /console", access_log=False, **{"return": ["301", CONSOLE_PATH]})
    return [console, bare]
