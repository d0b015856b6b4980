"""Answer 404 to a path with non-ASCII characters before Django and its tracing see it.

No route of core has one (ids are digits, slugs ASCII), and the tracing middleware, which runs
outside core's own error handling, fails on any path character outside Latin-1 (it re-quotes
the decoded path as Latin-1). Refusing such paths here answers them like any unknown path.
"""

from collections.abc import Callable, Iterable
from typing import Any

from core.config.errors import wsgi_error

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class AsciiPathGuard:
    """Answer 404 not_found in the envelope to a request whose path is not ASCII."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Pass an ASCII path on; answer any other one here."""
        # PATH_INFO holds the raw bytes as Latin-1 (PEP 3333): ASCII text means ASCII bytes.
        if not str(environ.get("PATH_INFO", "")).isascii():
            return wsgi_error(start_response, 404, "not_found", "not found")
        return self.app(environ, start_response)
