"""The one error shape every HTTP API of the project answers with."""

from typing import Any


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the error envelope: a machine-readable code, a human message, per-field messages."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}
