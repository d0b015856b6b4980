"""The errors nginx makes itself, answered in the project's JSON error envelope.

The gateway answers some requests on its own: a body, URL or header block over its limit, a method
it never passes on (``TRACE``), a client over its rate, a route that needs a user, an upstream that
is down. nginx's built-in pages for these are HTML, while every client of this project reads the
envelope every service answers with (``{"error": {"code", "message"}}``), so each status has an
internal location answering the envelope, plus the request id, which is also the trace id of the
request's trace and the key of its access-log line.

``error_page`` is not inherited by a location that sets one of its own, so every location that
sets error pages takes the whole set from :func:`error_pages`.
"""

from dataclasses import dataclass, field

from nginx.config.api import Block, EmptyBlock, KeyOption, Location

from strangler_gateway.nginx.directives import add_headers, error_json, if_return, repeated

__all__ = [
    "ALLOWED_METHODS",
    "PAGES",
    "TIMEOUT",
    "UNAVAILABLE",
    "GatewayErrorPage",
    "error_location",
    "error_pages",
    "method_refusal",
    "unknown_method_map",
]

# What a client may send through the facade; TRACE (and CONNECT) never pass (405 with this Allow).
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
_UNKNOWN_METHOD = "$sf_unknown_method"


@dataclass(frozen=True)
class GatewayErrorPage:
    """One error the gateway answers itself: the statuses it catches and the envelope it sends."""

    catches: tuple[int, ...]
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    early: bool = False

    @property
    def name(self) -> str:
        """Return the location answering this error: named, or internal for ``early`` errors."""
        # nginx cannot redirect to a named location from a request whose line it could not read
        # (no URI yet), so those errors go to an internal URI. The others keep a named location:
        # a redirect to a URI turns the request into a GET, and the access log would lie.
        return f"/__gateway/error/{self.status}" if self.early else f"@sf_error_{self.status}"


PAGES = (
    GatewayErrorPage((400,), 400, "bad_request", "The request is malformed.", early=True),
    GatewayErrorPage((401,), 401, "unauthenticated",
                     "This route needs a signed-in user: sign in first."),
    GatewayErrorPage((403,), 403, "forbidden", "This route is not open to this user."),
    GatewayErrorPage((404,), 404, "not_found", "No such resource."),
    GatewayErrorPage((405,), 405, "method_not_allowed", "This method is not allowed here.",
                     {"Allow": f'"{ALLOWED_METHODS}"'}),
    GatewayErrorPage((413,), 413, "payload_too_large",
                     "The request body is larger than this route accepts."),
    GatewayErrorPage((414,), 414, "uri_too_long", "The request URL is too long.", early=True),
    # Retry-After in seconds: the limits are per second, so one second frees a request's room.
    GatewayErrorPage((429,), 429, "rate_limited", "Too many requests: slow down and retry.",
                     {"Retry-After": "1"}),
    # nginx's own 494 (headers too large) is answered as the standard 431.
    GatewayErrorPage((494,), 431, "headers_too_large", "The request headers are too large.",
                     early=True),
    GatewayErrorPage((500,), 500, "internal_error", "Something went wrong in the gateway."),
    GatewayErrorPage((502, 503), 502, "upstream_unavailable",
                     "The service behind this route is unreachable."),
    GatewayErrorPage((504,), 504, "upstream_timeout",
                     "The service behind this route did not answer in time."),
)  # fmt: skip
UNAVAILABLE = PAGES[-2].name
TIMEOUT = PAGES[-1].name


def error_pages() -> EmptyBlock:
    """Return ``error_page`` for every status the gateway answers in the envelope."""
    return repeated("error_page", [_error_page(page) for page in PAGES])


def _error_page(page: GatewayErrorPage) -> list[str]:
    caught = [str(status) for status in page.catches]
    # nginx answers its own 494 as a 400 unless told the status to answer with.
    overwrite = [] if page.status in page.catches else [f"={page.status}"]
    return [*caught, *overwrite, page.name]


def error_location(page: GatewayErrorPage, response_headers: dict[str, str]) -> Location:
    """Return the location answering ``page`` with ``response_headers`` and its own."""
    body = error_json(page.code, page.message)
    # The route variables the access log reads are unset when nginx fails a request before any
    # location ran (a malformed request line): empty is the right value there, not a warning.
    location = Location(page.name if page.name.startswith("@") else f"= {page.name}",
                        uninitialized_variable_warn=False)  # fmt: skip
    if not page.name.startswith("@"):
        location.sections.add(KeyOption("internal"))
    location.sections.add(
        EmptyBlock(**{"return": [str(page.status), f"'{body}'"]}),
        add_headers({**response_headers, **page.headers}),
    )
    return location


def unknown_method_map() -> Block:
    """Return the http-level map flagging a method the gateway never passes on."""
    allowed = [method.strip() for method in ALLOWED_METHODS.split(",")]
    flags = dict.fromkeys(allowed, '""')
    return Block(f"map $request_method {_UNKNOWN_METHOD}", default="1", **flags)


def method_refusal() -> Block:
    """Return the 405 for an unknown method, for a location that acts before its upstream."""
    # The rewrite phase runs before the access phase: a method no service answers is refused as
    # the service would refuse it, not with a 401 from asking who the user is first.
    return if_return(_UNKNOWN_METHOD, 405)
