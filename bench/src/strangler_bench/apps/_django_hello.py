"""The Django hello-world both bare Django apps serve: one JSON view, settings from the caller."""

from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer the cheapest JSON there is."""
    return JsonResponse({"status": "ok"})


urlpatterns = [path("healthz", healthz)]


def application_with(
    middleware: list[str], installed_apps: list[str], databases: dict[str, Any] | None = None
) -> WSGIHandler:
    """Configure Django with ``middleware`` and ``installed_apps``; return its WSGI app."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-hello-world-not-a-secret",  # noqa: S106 - a throwaway app on 127.0.0.1
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=middleware,
        INSTALLED_APPS=installed_apps,
        DATABASES=databases or {},
    )
    return get_wsgi_application()
