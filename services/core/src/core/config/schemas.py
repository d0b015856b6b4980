"""Schemas every router documents: the error envelope shared by all HTTP APIs of the project."""

from ninja import Schema


class ErrorDetail(Schema):
    """What went wrong: a machine-readable code, a human message, per-field messages."""

    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(Schema):
    """The error envelope: ``{"error": {"code", "message", "fields"?}}``."""

    error: ErrorDetail
