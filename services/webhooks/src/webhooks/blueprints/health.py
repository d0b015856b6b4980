"""Liveness for the gateway and the process runner; deliberately independent of core."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def read_health() -> ResponseReturnValue:
    """Report that the process is up."""
    return {"status": "ok"}
