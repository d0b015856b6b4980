"""The migration console's locations: ``/console/`` to the console app, behind the gateway.

The console sits behind the gateway so that one port serves everything a person opens, and so
that the identity the console trusts is the one the gateway set. Every request to the console
first asks the monolith who the user is (``auth_request`` to core's ``/internal/auth/session``
with the client's cookies); a signed-in user's signed identity goes on as ``X-Identity``, and an
anonymous request goes on without one (reading is open; the console refuses anonymous actions).
A client's own ``X-Identity`` never reaches the console. Looking at the console is not traffic:
no access-log line, no trace.
"""

from nginx.config.api import EmptyBlock, KeyOption, Location

from strangler_gateway.nginx.directives import repeated
from strangler_gateway.routetable import RouteTable

__all__ = ["CONSOLE_PATH", "SESSION_CHECK", "console_locations"]

CONSOLE_PATH = "/console/"
SESSION_CHECK = "/_console/session"
_ANONYMOUS = "@console_anonymous"
_IDENTITY = "$sf_console_identity"


def console_locations(table: RouteTable) -> list[Location]:
    """Return the console's locations, if the table names a console upstream."""
    if table.gateway.console is None:
        return []
    upstream = f"http://{table.gateway.console}"
    signed_in = Location(CONSOLE_PATH, access_log=False)
    signed_in.sections.add(
        EmptyBlock(auth_request=SESSION_CHECK),
        repeated("auth_request_set", [[_IDENTITY, "$upstream_http_x_identity"]]),
        # core answers 401 for nobody signed in: the request goes on, anonymous.
        repeated("error_page", [["401", "=", _ANONYMOUS]]),
        _proxy(upstream, _IDENTITY),
    )
    anonymous = Location(_ANONYMOUS, access_log=False)
    anonymous.sections.add(_proxy(upstream, '""'))
    bare = Location("= /console", access_log=False, **{"return": ["301", CONSOLE_PATH]})
    return [signed_in, anonymous, _session_check(table), bare]


def _proxy(upstream: str, identity: str) -> EmptyBlock:
    block = EmptyBlock(proxy_pass=upstream, proxy_http_version="1.1")
    block.sections.add(
        repeated(
            "proxy_set_header",
            [["Host", "$host"], ["Connection", '""'], ["X-Identity", identity]],
        ),
        # Live updates are server-sent events: each must reach the browser when it is sent.
        EmptyBlock(proxy_buffering=False),
    )
    return block


def _session_check(table: RouteTable) -> Location:
    # Internal: only auth_request reaches it. Only the cookies go to core, never the body.
    location = Location(f"= {SESSION_CHECK}", access_log=False)
    location.sections.add(
        KeyOption("internal"),
        EmptyBlock(
            proxy_pass=f"http://{table.gateway.catch_all}/internal/auth/session",
            proxy_pass_request_body=False,
            proxy_http_version="1.1",
        ),
        repeated(
            "proxy_set_header",
            [
                ["Host", "$host"],
                ["Connection", '""'],
                ["Content-Length", '""'],
                ["X-Original-URI", "$request_uri"],
            ],
        ),
    )
    return location
