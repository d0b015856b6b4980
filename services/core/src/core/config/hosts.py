"""Refuse a request for a host core does not serve before any middleware sees it.

Django checks the Host header lazily, wherever ``request.get_host()`` is first called; under
gunicorn that is the tracing middleware, which sits outside the middleware that writes the error
envelope. With DEBUG on, Django then answers with its technical page (settings, paths, a
traceback). Checking here, around the whole WSGI application, answers 400 in the envelope in
every environment.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest

from core.config.errors import wsgi_error

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class AllowedHostsGuard:
    """Answer 400 in the envelope to a request whose host is not in ALLOWED_HOSTS."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Pass an allowed request on; answer any other one here."""
        try:
            # Django's own rules (X-Forwarded-Host, SERVER_NAME fallback, port, wildcards), on a
            # copy: WSGIRequest writes the decoded path back into the environ it is given.
            WSGIRequest(dict(environ)).get_host()
        except DisallowedHost:
            return wsgi_error(start_response, 400, "bad_request", "unknown or invalid Host header")
        return self.app(environ, start_response)
