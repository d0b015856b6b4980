"""Every failure becomes the project's error envelope: a status, a code and a human message.

Clients never see a traceback or FastAPI's default ``{"detail": ...}`` shape.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from strangler_shared import SERVICE_HEADER, error_body, is_json_media_type

from rag.core_client import CoreError, CoreUnavailableError, CustomerNotFoundError
from rag.faults import InjectedFaultError

logger = logging.getLogger(__name__)

SERVICE_NAME = "rag"
_REQUEST_PARTS = frozenset({"query", "path", "body", "header", "cookie"})
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
# Pydantic's wording for these says little to an API client.
_MESSAGES = {"extra_forbidden": "unknown field", "missing": "field required"}


class ApiError(Exception):
    """An error answer decided by a handler or a dependency."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Build a JSON response carrying the error envelope."""
    return JSONResponse(error_body(code, message, fields), status_code=status_code, headers=headers)


def _field_name(loc: Sequence[Any]) -> str:
    parts = list(loc[1:] if loc and loc[0] in _REQUEST_PARTS else loc)
    return ".".join(str(part) for part in parts)


def _is_body_shape_error(error: Mapping[str, Any]) -> bool:
    # A body that is not JSON, or JSON that is not an object, fails as a whole (loc == ("body",)).
    return error["type"] == "json_invalid" or tuple(error["loc"]) == ("body",)


def validation_fields(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Map each invalid field to its first error message."""
    fields: dict[str, str] = {}
    for error in errors:
        name = _field_name(error["loc"])
        fields.setdefault(name, _MESSAGES.get(error["type"], error["msg"]))
    return fields


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if any(_is_body_shape_error(error) for error in errors):
        content_type = request.headers.get("content-type", "")
        # FastAPI reads a body as JSON only when it says so (or says nothing).
        if content_type and not is_json_media_type(content_type):
            message = f"The request body must be JSON, not {content_type}."
            return error_response(415, "unsupported_media_type", message)
        return error_response(400, "invalid_json", "The request body must be a JSON object.")
    fields = validation_fields(errors)
    summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
    return error_response(422, "validation_error", f"Invalid request: {summary}", fields)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    # Starlette's Allow names only the first route on the path; GET and PUT of one path are
    # two routes here, so ask the router which methods fully match this path.
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)}
        return error_response(405, "method_not_allowed", "Method Not Allowed", headers=headers)
    if exc.status_code == 400:
        # FastAPI's only 400: a body it could not parse at all (e.g. JSON nested too deeply).
        return error_response(400, "invalid_json", "The request body must be a JSON object.")
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _on_customer_not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", str(exc))


async def _on_core_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("core unavailable: %s", exc)
    return error_response(503, "core_unavailable", "The core service is not reachable right now.")


async def _on_core_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("core call failed: %s", exc)
    return error_response(502, "upstream_error", "The core service answered with an error.")


async def _on_injected_fault(request: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "injected_fault", str(exc))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    # The request's server span is still current here: it keeps the exception (type, message,
    # stack) as an event, as the trace viewer shows it. FastAPI's telemetry marks the span failed.
    trace.get_current_span().record_exception(exc)
    # Starlette answers this one from its outermost middleware, outside ServiceHeaderMiddleware,
    # so the header is set here.
    return error_response(
        500,
        "internal_error",
        "Something went wrong on our side.",
        headers={SERVICE_HEADER: SERVICE_NAME},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure to its envelope answer."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(CustomerNotFoundError, _on_customer_not_found)
    app.add_exception_handler(CoreUnavailableError, _on_core_unavailable)
    app.add_exception_handler(CoreError, _on_core_error)
    app.add_exception_handler(InjectedFaultError, _on_injected_fault)
    app.add_exception_handler(Exception, _on_unexpected)
