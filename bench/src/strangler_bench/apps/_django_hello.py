"""The Django hello-world both bare Django apps serve: one JSON view, settings from the caller."""

import io
import sys
from collections.abc import Callable
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


def get_healthz(application: WSGIHandler) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call ``GET /healthz`` as a WSGI server does, in process; return status, headers, body."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }  # fmt: skip
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[..., None]:
        started.append((status, headers))
        return lambda data: None  # the write() callable; these views return their body

    response = application(environ, start_response)
    body = b"".join(response)
    response.close()  # Django's request_finished runs here
    return started[0][0], started[0][1], body
