"""Error responses in the project's envelope, for views and API handlers alike."""

from django.http import JsonResponse
from strangler_shared import error_body


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JsonResponse:
    """Return a JSON response carrying the error envelope."""
    return JsonResponse(error_body(code, message, fields), status=status)
