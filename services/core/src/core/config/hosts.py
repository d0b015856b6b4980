"""Refuse a request for a host core does not serve before any middleware sees it.

Django checks the Host header lazily, wherever ``request.get_host()`` is first called; under
gunicorn that is the tracing middleware, which sits outside the middleware that writes the error
envelope. With DEBUG on, Django then answers with its technical page (settings, paths, a
traceback). Checking here, around the whole WSGI application, answers 400 in the envelope in
every environment.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from strangler_shared import error_body

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_BODY = json.dumps(error_body("bad_request", "unknown or invalid Host header")).encode()


class AllowedHostsGuard:
    """Answer 400 in the envelope to a request whose host is not in ALLOWED_HOSTS."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Pass an allowed request on; answer any other one here."""
        try:
            # Django's own rules (X-Forwarded-Host, SERVER_NAME fallback, port, wildcards).
            WSGIRequest(environ).get_host()
        except DisallowedHost:
            return self._refuse(start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response: StartResponse) -> list[bytes]:
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(_BODY))),
            ("X-Service", "core"),
        ]
        start_response("400 Bad Request", headers)
        return [_BODY]
