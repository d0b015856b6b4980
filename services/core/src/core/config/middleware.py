"""Response middleware every request of the monolith passes through.

The gateway and the shadow comparator need to know which process answered (``X-Service``), and
every error a client can see must speak the project's envelope, not Django's HTML pages.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponseBase, JsonResponse
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
