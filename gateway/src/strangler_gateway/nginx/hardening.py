"""What the facade enforces on every request: security headers, rate limits, known hosts only.

- Security headers on every response, the gateway's own errors included: no MIME sniffing, no
  framing (``X-Frame-Options`` and CSP ``frame-ancestors``), a referrer policy, and a
  Content-Security-Policy that lets the HTML pages (the trace viewer, the console, the admin, the
  API docs) load their own scripts and styles and nothing from elsewhere. An upstream's own copy
  of a single-valued header is hidden so a client never sees two; an upstream's own CSP is kept
  (browsers enforce both, so it can only tighten).
- Rate limits per client key on the public routes (``limit_req``): the Django session cookie, else
  the sticky key's cookie or header, else the client address. Keys are what the client sends, so a
  client that rotates them is limited per key, not in total: a per-address ceiling belongs to the
  edge in front of the gateway (a load balancer), where many users behind one NAT can be told apart.
- Known hosts only: a request for a host the gateway does not serve (or an HTTP/1.0 request with no
  ``Host``) is answered 421 by a default server, so it never reaches Django, whose local DEBUG page
  for a disallowed host lists settings and file paths.
"""

from nginx.config.api import Block, EmptyBlock, Location

from strangler_gateway.nginx.directives import add_headers, error_json, header_var, sets
from strangler_gateway.routetable import RouteTable

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "hidden_upstream_headers",
    "rate_limit",
    "rate_limit_zone",
    "security_headers",
    "server_names",
    "unknown_host_location",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": f'"{CONTENT_SECURITY_POLICY}"',
}
_ZONE = "sf_clients"


def security_headers() -> dict[str, str]:
    """Return the security headers every response carries (values quoted for nginx)."""
    return dict(SECURITY_HEADERS)


def hidden_upstream_headers() -> list[str]:
    """Return the upstream headers the gateway replaces with its own single copy."""
    return ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]


def rate_limit_zone(table: RouteTable) -> EmptyBlock:
    """Return the http-level key map and zone of the per-client rate limit."""
    gateway = table.gateway
    session = f"$cookie_{gateway.session_cookie}"
    sticky = f"$cookie_{gateway.sticky_cookie}"
    header = f"$http_{header_var(gateway.sticky_header)}"
    return EmptyBlock(
        Block(f"map {session} $sf_rate_key", default=f'"session:{session}"',
              **{'""': "$sf_rate_cookie_key"}),
        Block(f"map {sticky} $sf_rate_cookie_key", default=f'"user:{sticky}"',
              **{'""': "$sf_rate_header_key"}),
        Block(f"map {header} $sf_rate_header_key", default=f'"user:{header}"',
              **{'""': "$binary_remote_addr"}),
        EmptyBlock(
            limit_req_zone=["$sf_rate_key", f"zone={_ZONE}:10m", f"rate={gateway.rate_limit}"],
            limit_req_status=429,
            limit_req_log_level="warn",
        ),
    )  # fmt: skip


def rate_limit(table: RouteTable) -> EmptyBlock:
    """Return the ``limit_req`` of a public route: a burst allowance, then 429."""
    return EmptyBlock(limit_req=[f"zone={_ZONE}", f"burst={table.gateway.rate_burst}", "nodelay"])


def server_names(table: RouteTable) -> list[str]:
    """Return the host names the gateway serves."""
    return list(table.gateway.server_names)


def unknown_host_location(response_headers: dict[str, str], log: dict[str, str]) -> Location:
    """Return the default server's only location: 421 for a host the gateway does not serve."""
    body = error_json("misdirected_request", "This gateway does not serve that host.")
    # `set` before `return`: rewrite directives run in order, and the log reads the variables.
    return Location(
        "/",
        sets(log),
        EmptyBlock(**{"return": ["421", f"'{body}'"]}),
        add_headers(response_headers),
    )
