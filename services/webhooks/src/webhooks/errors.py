"""Why a delivery fails, as its sender sees it, and the handlers that answer every error as JSON.

Each intake failure carries its HTTP status and machine code, so the boundary turns it into the
project's error envelope in one place. Every other error (404, 405, 413, an unexpected exception)
gets the same envelope too: the adapter never answers with an HTML page or a traceback.
"""

from flask import Flask
from flask.typing import ResponseReturnValue
from strangler_shared import error_body
from strangler_shared.webhook_intake import (
    IntakeRefusal,
    InvalidEventError,
    InvalidSignatureError,
    MissingSignatureError,
    PayloadTooLargeError,
)
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

# The refusals every intake path shares (see strangler_shared.webhook_intake), named as here.
IntakeError = IntakeRefusal


class StorageUnavailableError(IntakeRefusal):
    """The event could not be stored, so it is not accepted; the sender should retry."""

    status = 503
    code = "storage_unavailable"


__all__ = [
    "IntakeError",
    "InvalidEventError",
    "InvalidSignatureError",
    "MissingSignatureError",
    "PayloadTooLargeError",
    "StorageUnavailableError",
    "register_error_handlers",
]

# 413 comes from Flask's MAX_CONTENT_LENGTH check; it answers with the shared intake code.
_CODES_BY_STATUS = {
    404: "not_found",
    405: "method_not_allowed",
    413: PayloadTooLargeError.code,
    500: "internal_error",
}


def register_error_handlers(app: Flask) -> None:
    """Answer intake failures and HTTP errors with the project's JSON error envelope."""
    app.register_error_handler(IntakeError, _answer_intake_error)
    app.register_error_handler(InternalServerError, _answer_internal_error)
    app.register_error_handler(HTTPException, _answer_http_error)


def _answer_intake_error(error: IntakeRefusal) -> ResponseReturnValue:
    return error_body(error.code, error.message), error.status


def _answer_internal_error(error: InternalServerError) -> ResponseReturnValue:
    # Flask has already logged the original exception with its traceback; the client gets none.
    return error_body("internal_error", "The server hit an unexpected error."), 500


def _answer_http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    code = _CODES_BY_STATUS.get(status) or error.name.lower().replace(" ", "_")
    body = error_body(code, error.description or error.name)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return body, status, {"Allow": ", ".join(error.valid_methods)}
    return body, status
