"""Bare Django hello-world: one JSON view, no database, no middleware beyond Django's minimum.

Served as ``gunicorn strangler_bench.apps.hello_django:application`` with the services' settings.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-hello-world-not-a-secret",  # noqa: S106 - a throwaway app on 127.0.0.1
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer the cheapest JSON there is."""
    return JsonResponse({"status": "ok"})


urlpatterns = [path("healthz", healthz)]
application = get_wsgi_application()
