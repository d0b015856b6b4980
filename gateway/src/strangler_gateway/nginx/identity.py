"""Who the user is, asked of the monolith before a route that needs one (``auth_request``).

Users sign in to core (Django sessions); the services that take routes over have no login. For a
route whose ``auth`` is ``required`` or ``optional`` (and for the console's actions), nginx first
sends core's ``GET /internal/auth/session`` the session cookie as a subrequest, and passes what
core answers upstream: the signed ``X-Identity`` (``strangler_shared.identity``) the services
verify. Every proxied request has its ``X-Identity``, ``X-Auth-User`` and ``X-Auth-Staff`` set by
the gateway (empty, so not sent, when nobody is signed in): what a client sends is never passed on.

- ``required``: no session cookie is a 401 without asking core; core's 401 is the gateway's 401.
- ``optional``: anonymous requests pass without an identity; if core cannot be asked, the request
  passes anonymously too (the route is served by a service that must not depend on the monolith).

A signed-in user's answer is cached for a few seconds keyed by the session cookie, so a busy user
costs core one check per interval, not one per request; a sign-out is seen within that interval.
"""

from nginx.config.api import EmptyBlock, KeyOption, Location

from strangler_gateway.nginx.directives import if_return, repeated
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.nginx.tracecontext import upstream_context
from strangler_gateway.routetable import Auth, RouteTable

__all__ = [
    "IDENTITY_HEADERS",
    "SESSION_PATH",
    "auth_directives",
    "identity_cache",
    "identity_headers",
    "identity_variables",
    "session_locations",
]

SESSION_PATH = "/__gateway/session"
# The endpoint of core's that answers the session check.
_CORE_SESSION = "/internal/auth/session"
_ZONE = "sf_sessions"
_CACHE_SECONDS = 5
# What the gateway passes upstream, from core's answer; a client's own copies never pass.
IDENTITY_HEADERS = {"X-Identity": "$sf_identity", "X-Auth-User": "$sf_auth_user",
                    "X-Auth-Staff": "$sf_auth_staff"}  # fmt: skip
_ANONYMOUS = "@sf_anonymous"


def _check_path(auth: Auth) -> str:
    return SESSION_PATH if auth is Auth.REQUIRED else f"{SESSION_PATH}/optional"


def identity_cache(layout: Layout) -> EmptyBlock:
    """Return the http-level cache of session checks."""
    path = layout.cache("sessions")
    return EmptyBlock(
        proxy_cache_path=[
            str(path),
            "levels=1:2",
            f"keys_zone={_ZONE}:1m",
            "max_size=16m",
            "inactive=30s",
            "use_temp_path=off",
        ]
    )


def identity_variables() -> EmptyBlock:
    """Return the http-level declarations of the identity variables: empty until checked."""
    # njs's js_var, not a server-level `set`: subrequests (the shadow mirror) run the server's
    # rewrite directives on the variables they share with the user's request, and would empty
    # the identity of a request that is about to be proxied.
    return repeated("js_var", list(IDENTITY_HEADERS.values()))


def identity_headers() -> list[list[str]]:
    """Return the ``proxy_set_header`` values that replace any identity a client sent."""
    return [[name, value] for name, value in IDENTITY_HEADERS.items()]


def auth_directives(auth: Auth) -> EmptyBlock:
    """Return ``auth_request`` and the variables it fills, for a location needing ``auth``."""
    block = EmptyBlock(auth_request=_check_path(auth))
    block.sections.add(
        repeated(
            "auth_request_set",
            [
                ["$sf_identity", "$upstream_http_x_identity"],
                ["$sf_auth_user", "$upstream_http_x_auth_user"],
                ["$sf_auth_staff", "$upstream_http_x_auth_staff"],
            ],
        )
    )
    return block


def session_locations(table: RouteTable) -> list[Location]:
    """Return the internal locations that ask core about the session (required, optional)."""
    required = _session_location(SESSION_PATH, table)
    optional = _session_location(f"{SESSION_PATH}/optional", table)
    # Core unreachable or the session unknown: on an optional route the request goes on anonymous.
    optional.options["proxy_intercept_errors"] = True
    optional.sections.add(
        repeated("error_page", [["401", "403", "500", "502", "503", "504", "=", _ANONYMOUS]])
    )
    anonymous = Location(_ANONYMOUS, **{"return": "204"})
    return [required, optional, anonymous]


def _session_location(path: str, table: RouteTable) -> Location:
    cookie = f"$cookie_{table.gateway.session_cookie}"
    anonymous_status = 401 if path == SESSION_PATH else 204
    location = Location(f"= {path}")
    location.sections.add(
        KeyOption("internal"),
        # Nobody signed in: answered here, core is not asked.
        if_return(f'{cookie} = ""', anonymous_status),
        EmptyBlock(
            proxy_pass=f"http://{table.gateway.catch_all}{_CORE_SESSION}",
            proxy_method="GET",
            proxy_pass_request_body=False,
            proxy_http_version="1.1",
            proxy_read_timeout="5s",
        ),
        repeated(
            "proxy_set_header",
            [
                ["Host", "$host"],
                ["Content-Length", '""'],
                ["Connection", '""'],
                # Only the session cookie: core needs nothing else to answer.
                ["Cookie", f'"{table.gateway.session_cookie}={cookie}"'],
                *upstream_context(),
            ],
        ),
        EmptyBlock(
            proxy_cache=_ZONE,
            proxy_cache_key=f'"{cookie}"',
            proxy_cache_valid=["204", f"{_CACHE_SECONDS}s"],
            proxy_ignore_headers=[
                "Cache-Control",
                "Expires",
                "Set-Cookie",
                "Vary",
                "X-Accel-Expires",
            ],
        ),
    )
    return location
