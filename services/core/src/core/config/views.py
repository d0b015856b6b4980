"""Process-level views: the health probe and the site root."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer that the process is up (readiness probes and the gateway poll this)."""
    return JsonResponse({"status": "ok"})


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Send a visitor of the bare site to the API documentation."""
    return HttpResponseRedirect("/api/docs")
