"""Add the noise field to the public API's JSON answers while it is set."""

import json

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from core.config.middleware import Handler
from core.faults.services import noise_field, with_noise

_API_PREFIX = "/api/"
# The API's own description is no answer of the monolith's.
_DOCUMENTS = frozenset({"/api/openapi.json", "/api/docs"})


class LegacyNoiseMiddleware:
    """Give every 200 JSON object under ``/api/`` the noise field, when one is set."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not isinstance(response, HttpResponse) or not _is_api_answer(request.path, response):
            return response
        field = noise_field()
        if not field:
            return response
        answer = json.loads(response.content)
        if isinstance(answer, dict):
            response.content = json.dumps(with_noise(answer, field)).encode()
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response


def _is_api_answer(path: str, response: HttpResponse) -> bool:
    """Tell whether ``response`` is a successful JSON answer of a public API route."""
    return (
        path.startswith(_API_PREFIX)
        and path not in _DOCUMENTS
        and response.status_code == 200
        and response.get("Content-Type", "").startswith("application/json")
    )
