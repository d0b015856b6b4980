"""Error responses in the project's envelope, for views and API handlers alike."""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import JsonResponse
from strangler_shared import error_body


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JsonResponse:
    """Return a JSON response carrying the error envelope."""
    return JsonResponse(error_body(code, message, fields), status=status)


def wsgi_error(
    start_response: Callable[..., Any], status: int, code: str, message: str
) -> list[bytes]:
    """Answer a WSGI request with the envelope, for guards that run before Django."""
    body = json.dumps(error_body(code, message)).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Service", "core"),
    ]
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]
