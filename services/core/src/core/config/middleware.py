"""Response middleware every request of the monolith passes through.

The gateway and the shadow comparator need to know which process answered (``X-Service``), and
every error a client can see must speak the project's envelope, not Django's HTML pages.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.functional import SimpleLazyObject, empty
from strangler_shared import SERVICE_HEADER

from core.config.errors import error_response

SERVICE_NAME = "core"

_CODES = {
    HTTPStatus.BAD_REQUEST: "bad_request",
    HTTPStatus.FORBIDDEN: "forbidden",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal_error",
}
# The admin is a browser UI: its own error pages are the right thing there.
_HTML_PREFIXES = ("/admin/", "/static/")

Handler = Callable[[HttpRequest], HttpResponseBase]


class ServiceHeaderMiddleware:
    """Mark every response with the name of the process that answered it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response[SERVICE_HEADER] = SERVICE_NAME
        return response


class ErrorEnvelopeMiddleware:
    """Replace Django's HTML error pages (404, 405, 500, ...) with the JSON error envelope."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not _needs_envelope(request, response):
            return response
        return _envelope_for(response)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """Answer 413 for a body over the upload limit read by a view outside the API."""
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "payload_too_large", "the request body is too large")
        return None


class LazyMessageMiddleware(MessageMiddleware):
    """Django's message middleware, opening the message store only when a request uses it.

    Only the admin's pages use messages, but Django's middleware builds the store (a cookie
    signer and the session's) for every request, API calls and probes included. A store
    nobody opened has nothing to save, so the response is left as it is.
    """

    def process_request(self, request: HttpRequest) -> None:
        """Give the request a message store that is built on first use."""
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Save the messages of a store that was opened; leave any other response alone."""
        store = getattr(request, "_messages", None)
        if isinstance(store, SimpleLazyObject) and store._wrapped is empty:  # type: ignore[attr-defined]
            return response
        return super().process_response(request, response)


def _needs_envelope(request: HttpRequest, response: HttpResponseBase) -> bool:
    if response.status_code < 400 or request.path.startswith(_HTML_PREFIXES):
        return False
    return not response.get("Content-Type", "").startswith("application/json")


def _envelope_for(response: HttpResponseBase) -> JsonResponse:
    status = HTTPStatus(response.status_code)
    code = _CODES.get(status, f"http_{status.value}")
    replacement = error_response(status.value, code, status.phrase.lower())
    if response.has_header("Allow"):
        replacement["Allow"] = response["Allow"]
    return replacement
