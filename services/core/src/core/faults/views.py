"""``GET``/``PUT /internal/faults``: the monolith's fault flags, for the rollout's drills.

Authenticated with the service token like every internal call. Clients never reach this path
through the gateway (``/internal/`` is not found there).
"""

import hmac

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from strangler_shared import InvalidSecretError, load_service_token

from core.config.api import NotAJSONObjectError, ObjectJSONParser, UnsupportedMediaTypeError
from core.config.errors import error_response
from core.faults.services import FIELD_PATTERN, read_flags, replace_flags

_SCHEME = "Bearer "
_FLAGS = frozenset({"noise_field"})


@csrf_exempt
@require_http_methods(["GET", "PUT"])
def faults(request: HttpRequest) -> HttpResponse:
    """Show the flags (GET) or replace them (PUT; ``{}`` switches every fault off)."""
    if (refusal := _refusal(request)) is not None:
        return refusal
    if request.method == "GET":
        return JsonResponse(read_flags())
    try:
        body = ObjectJSONParser().parse_body(request)
    except UnsupportedMediaTypeError as exc:
        return error_response(415, "unsupported_media_type", str(exc))
    except (NotAJSONObjectError, ValueError):
        return error_response(400, "invalid_json", "the request body must be a JSON object")
    errors = {name: "not a fault flag of core" for name in body.keys() - _FLAGS}
    noise = body.get("noise_field", "")
    if not isinstance(noise, str) or (noise and not FIELD_PATTERN.fullmatch(noise)):
        errors["noise_field"] = "a JSON key: a letter or _, then letters, digits or _ (64 at most)"
    if errors:
        summary = "; ".join(f"{name}: {problem}" for name, problem in sorted(errors.items()))
        return error_response(422, "validation_error", f"invalid request: {summary}", errors)
    return JsonResponse(replace_flags(noise))


def _refusal(request: HttpRequest) -> HttpResponse | None:
    try:
        expected = load_service_token()
    except InvalidSecretError:
        return error_response(
            503, "service_token_unconfigured", "STRANGLER_SERVICE_TOKEN is not set on core."
        )
    header = request.headers.get("Authorization", "")
    given = header.removeprefix(_SCHEME) if header.startswith(_SCHEME) else ""
    if hmac.compare_digest(given.encode(), expected.encode()):
        return None
    response = error_response(401, "unauthenticated", "A valid service token is required.")
    response["WWW-Authenticate"] = "Bearer"
    return response
