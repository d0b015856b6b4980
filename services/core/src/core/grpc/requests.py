"""Checks on CoreService requests at the boundary, so bad input is INVALID_ARGUMENT, not UNKNOWN.

A protobuf request can carry anything its types allow: a payload nested a hundred thousand
deep, integers no database column holds, a Timestamp outside the years 1..9999. Each is refused
here, before it reaches the ORM, with a message naming the field.
"""

import json
import math
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from strangler_shared import INT64_MAX, INT64_MIN

# Real webhook payloads are a handful of levels deep; this leaves ample room.
MAX_PAYLOAD_DEPTH = 32
_MAX_NANOS = 999_999_999


class InvalidRequestError(ValueError):
    """A field of the request is outside what the contract accepts."""


def _refuse_constant(name: str) -> Any:
    raise InvalidRequestError(f"payload holds {name}, which is not JSON")


def parse_payload(raw: bytes) -> dict[str, Any]:
    """Return the payload as a JSON object within depth and number ranges."""
    try:
        payload = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidRequestError("payload is nested too deeply") from exc
    except InvalidRequestError:
        raise
    except ValueError as exc:
        raise InvalidRequestError("payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidRequestError("payload is not a JSON object")
    _check_values(payload)
    return payload


def _check_values(payload: dict[str, Any]) -> None:
    # Iterative, so the check itself cannot run out of stack.
    pending: list[tuple[Any, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_PAYLOAD_DEPTH:
            raise InvalidRequestError(f"payload is nested deeper than {MAX_PAYLOAD_DEPTH}")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        else:
            _check_number(value)


def _check_number(value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidRequestError("payload holds an integer outside the 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError("payload holds a number too large to represent")


def received_at(stamp: Timestamp, present: bool) -> datetime | None:
    """Return the Timestamp as an aware datetime, or None when it was not sent."""
    if not present:
        return None
    if not 0 <= stamp.nanos <= _MAX_NANOS:
        raise InvalidRequestError("received_at.nanos must be 0..999999999")
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidRequestError("received_at must lie between years 1 and 9999") from exc
