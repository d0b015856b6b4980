"""Process-level views: the health probe, the site root and Django's error handlers."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_GET

from core.config.errors import error_response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer that the process is up (readiness probes and the gateway poll this)."""
    return JsonResponse({"status": "ok"})


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Send a visitor of the bare site to the API documentation."""
    return HttpResponseRedirect("/api/docs")


# Django's error handlers: used when an exception escapes the middleware that writes the
# envelope (one raised in a middleware placed outside it, such as the tracing middleware).
def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer 400 bad_request (also a disallowed Host header) in the envelope."""
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, "payload_too_large", "the request body is too large")
    return error_response(400, "bad_request", "bad request")


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer 403 forbidden in the envelope."""
    return error_response(403, "forbidden", "forbidden")


def page_not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer 404 not_found in the envelope."""
    return error_response(404, "not_found", "not found")


def server_error(request: HttpRequest) -> JsonResponse:
    """Answer 500 internal_error in the envelope, without any internals."""
    return error_response(500, "internal_error", "internal server error")
