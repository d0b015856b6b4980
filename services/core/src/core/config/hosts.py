"""Core's WSGI handler: the Host header checked once, before any middleware sees it.

Django checks the Host header lazily, wherever ``request.get_host()`` is first called; under
gunicorn that is the tracing middleware, which sits outside the middleware that writes the error
envelope. With DEBUG on, Django then answers with its technical page (settings, paths, a
traceback). The handler below checks it before the middleware chain, and answers 400 in the
envelope in every environment.

The request then keeps what it worked out. The tracing middleware builds the absolute URL three
times per request (to match it against its excluded URLs in ``process_request``,
``process_view`` and ``process_response``), and the common middleware asks for the host again;
each time Django would validate the Host header against ALLOWED_HOSTS and join the URL anew.
Nothing either depends on (the environ, the path, the settings) changes during a request.

Three more costs every request paid, read as instructions per request under valgrind (the
machine's own speed drifted more than any of them):
- The tracing middleware's URL, ``build_absolute_uri("?")``, went through Django's ``urljoin`` and
  ``iri_to_uri``: about 51,000 of the 812,000 instructions of core's ``/healthz``. For a path of
  plain characters the URL is the scheme, the host and the path as they are.
- The tracing middleware names its span after the URL pattern, resolving the path before the
  middleware chain runs, and Django resolved it again to find the view. The handler resolves it
  once, before either, and both take that match (or that 404).
- The authentication middleware (``request.user``, ``request.auser``) and the message middleware
  store closures over the request on it. Each request's objects (about 30, its session and URL
  match among them) then waited for the cycle collector, a collection every 30 requests. The
  handler drops those closures once the response is closed. (The admin's HTML pages still leave
  cycles of Django's own: class-based views, forms, template contexts.)
"""

import re

from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, get_resolver
from strangler_shared import SERVICE_HEADER

from core.config.errors import error_response
from core.config.middleware import SERVICE_NAME

# Characters Django's build_absolute_uri("?") leaves as they are in a path: the URL's path is
# then the request's own, with nothing to join, quote or drop.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~-]*")
# What the authentication and message middleware store on a request: closures over it.
_CYCLIC_ATTRIBUTES = ("user", "auser", "_messages")


class CoreRequest(WSGIRequest):
    """A WSGI request that validates its host and builds each absolute URL once."""

    _host: str | None = None

    def get_host(self) -> str:
        """Return the host, validated against ALLOWED_HOSTS on the first call only."""
        if self._host is None:
            self._host = super().get_host()
        return self._host

    def build_absolute_uri(self, location: str | None = None) -> str:
        """Return the absolute URI of ``location`` (the request's own without one), memoised."""
        memo: dict[tuple[str | None, str], str] = self.__dict__.setdefault("_absolute_uris", {})
        key = (location, self.path)
        if key not in memo:
            if location == "?" and _PLAIN_PATH.fullmatch(self.path):
                memo[key] = f"{self.scheme}://{self.get_host()}{self.path}"
            else:
                memo[key] = super().build_absolute_uri(location)
        return memo[key]

    def forget_closures(self) -> None:
        """Drop what refers back to this request, so refcounting frees it, not the collector."""
        for name in _CYCLIC_ATTRIBUTES:
            self.__dict__.pop(name, None)


class CoreHandler(WSGIHandler):
    """Django's WSGI handler: core's request class, Host and path worked out up front, no cycles."""

    request_class = CoreRequest

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        """Answer 400 in the envelope to an unknown or invalid host; pass any other request on."""
        try:
            request.get_host()
        except DisallowedHost:
            refusal = error_response(400, "bad_request", "unknown or invalid Host header")
            refusal[SERVICE_HEADER] = SERVICE_NAME
            return refusal
        _resolve_early(request)
        response = super().get_response(request)
        if isinstance(request, CoreRequest):
            # Once the body is sent: a streamed answer may still read the request's user.
            response._resource_closers.append(request.forget_closures)  # type: ignore[attr-defined]
        return response

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        """Return the match found before the middleware ran, unless they changed what to resolve."""
        early = request.__dict__.pop("_early_match", None)
        if early is None or early[0] != request.path_info or hasattr(request, "urlconf"):
            return super().resolve_request(request)
        found = early[1]
        if isinstance(found, Resolver404):
            raise found
        request.resolver_match = found
        return found


def _resolve_early(request: HttpRequest) -> None:
    # The tracing middleware takes `request.resolver_match` when it is set, else resolves itself.
    found: ResolverMatch | Resolver404
    try:
        match = get_resolver().resolve(request.path_info)
    except Resolver404 as missing:
        # Without its traceback, whose frames hold the request: no cycle to wait for the collector.
        found = missing.with_traceback(None)
    else:
        request.resolver_match = found = match
    request.__dict__["_early_match"] = (request.path_info, found)
