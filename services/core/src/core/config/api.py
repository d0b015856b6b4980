"""The legacy public API: one Django Ninja instance, its routers and its error handling.

Every error leaves here in the project's envelope (``strangler_shared.error_body``), including
Ninja's own request-validation errors, so the legacy routes and their replacements in the new
services answer byte-for-byte alike.
"""

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser
from strangler_shared import is_json_media_type

from core.config.errors import error_response
from core.customers.api import router as customers_router
from core.knowledge.api import router as knowledge_router

logger = logging.getLogger(__name__)

# Ninja's location prefixes: where in the request a parameter was read from.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})


class NotAJSONObjectError(ValueError):
    """The request body parsed as JSON but is not an object."""


class UnsupportedMediaTypeError(Exception):
    """The request body says it is something other than JSON."""


class ObjectJSONParser(Parser):
    """Parse request bodies as JSON objects only; anything else is the client's error."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        """Return the body as a dict, or raise ValueError (or UnsupportedMediaTypeError)."""
        # No Content-Type at all is read as JSON, as FastAPI does on rag's side of each route.
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type and not is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(f"the request body must be JSON, not {content_type}")
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise NotAJSONObjectError("the request body must be a JSON object")
        return data


api = NinjaAPI(
    title="core — legacy API",
    version="1.0.0",
    description=(
        "The monolith's public API: customers, knowledge-base search and chat. Routes move to "
        "the new services behind the gateway; their contracts stay exactly as documented here."
    ),
    parser=ObjectJSONParser(),
    urls_namespace="api",
)
api.add_router("", customers_router)
api.add_router("", knowledge_router)


def _field_name(loc: list[Any] | tuple[Any, ...], body_params: set[str]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if loc and loc[0] == "body" and parts and parts[0] in body_params:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _is_missing_body(error: dict[str, Any]) -> bool:
    loc = error.get("loc", ())
    return error.get("type") == "missing" and len(loc) <= 2 and bool(loc) and loc[0] == "body"


def _body_param_names(exc: ValidationError) -> set[str]:
    return {str(e["loc"][1]) for e in exc.errors if len(e.get("loc", ())) > 2}


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Answer 422 validation_error with one message per offending field."""
    if any(_is_missing_body(error) for error in exc.errors):
        return _invalid_json("the request body must be a JSON object")
    body_params = _body_param_names(exc)
    fields: dict[str, str] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(error.get("loc", ()), body_params), str(error["msg"]))
    summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
    return error_response(422, "validation_error", f"invalid request: {summary}", fields)


def _invalid_json(message: str) -> HttpResponse:
    return error_response(400, "invalid_json", message)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Answer an HttpError raised by Ninja or a handler with its status in the envelope."""
    if isinstance(exc.__cause__, (UnsupportedMediaTypeError, SuspiciousOperation)):
        return on_bad_request(request, exc.__cause__)
    # RecursionError: JSON nested deeper than the parser goes.
    if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        return _invalid_json("the request body must be a JSON object")
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    return error_response(exc.status_code, code, exc.message)


@api.exception_handler(UnsupportedMediaTypeError)
@api.exception_handler(SuspiciousOperation)
def on_bad_request(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Answer 415 to a body that is not JSON, 413 to one too large, 400 to other bad requests."""
    if isinstance(exc, UnsupportedMediaTypeError):
        return error_response(415, "unsupported_media_type", str(exc))
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "payload_too_large", "the request body is too large")
    return error_response(400, "bad_request", "bad request")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    """Answer 404 not_found."""
    return error_response(404, "not_found", str(exc) or "not found")


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Log the failure and answer 500 internal_error without any internals."""
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "internal server error")
