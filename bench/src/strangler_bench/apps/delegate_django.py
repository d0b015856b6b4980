"""Core's hop to rag with none of core's code: bare Django relaying rag's suggestions.

``GET /api/customers/<id>/suggestions`` asks rag's ``/internal/customers/<id>/suggestions`` with
the service token through one ``httpx.Client`` per process and relays rag's status and body, as
core's view does, without core's middleware, django-ninja's routing and validation, core's
settings or its handling of rag's failures. It runs under core's own gunicorn config, so its
server settings, tracing (the shared tracer provider, exporter and instrumentations, Django's
instrumentation before the app loads) and collector tuning are core's: what it adds to rag's own
endpoint is what Django, gunicorn, httpx and the official instrumentations cost for the hop, the
floor core's own code stands on. Served as ``gunicorn -c services/core/gunicorn.conf.py
strangler_bench.apps.delegate_django:application`` with ``DJANGO_SETTINGS_MODULE`` set to
:mod:`strangler_bench.apps.delegate_django_settings`. gunicorn loads the app in each worker after
the fork, so the client is made after ``post_fork`` instrumented httpx.
"""

import httpx
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from strangler_shared import load_service_token

_AUTHORIZATION = {"Authorization": f"Bearer {load_service_token()}"}
_client = httpx.Client(timeout=5.0)


def suggestions(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Relay rag's suggestions for the customer."""
    k = int(request.GET.get("k", "3"))
    url = f"{settings.RAG_BASE_URL}/internal/customers/{customer_id}/suggestions?k={k}"
    answer = _client.get(url, headers=_AUTHORIZATION)
    return HttpResponse(
        answer.content,
        status=answer.status_code,
        content_type=answer.headers.get("content-type", "application/json"),
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer once the worker is up (the bench waits for it)."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz),
    path("api/customers/<int:customer_id>/suggestions", suggestions),
]

application = get_wsgi_application()
