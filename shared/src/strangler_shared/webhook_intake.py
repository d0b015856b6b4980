"""The intake rules every webhook path applies the same way, so a sender gets the same answer.

During the migration a delivery may land on the monolith's legacy view or on the webhook adapter,
and core's ``ApplyEvent`` validates what the adapter relays. All three check a delivery with the
functions here, in the order of :data:`CHECK_ORDER`, so each malformed delivery gets the same
status and machine code on either path, and a sender gets a 2xx only for an event core can apply.

Each refusal is an :class:`IntakeRefusal` carrying its HTTP status and code; the frameworks turn
it into the project's error envelope.
"""

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "CHECK_ORDER",
    "MAX_BODY_BYTES",
    "MAX_EVENT_ID_CHARS",
    "MAX_EVENT_TYPE_CHARS",
    "MAX_JSON_DEPTH",
    "MAX_SOURCE_CHARS",
    "TIMESTAMP_TOLERANCE_SECONDS",
    "IntakeRefusal",
    "InvalidEventError",
    "InvalidSignatureError",
    "MissingSignatureError",
    "ParsedEvent",
    "PayloadTooLargeError",
    "check_body_size",
    "check_event_fields",
    "check_timestamp",
    "decode_body",
    "parse_event",
    "parse_payload",
    "stripe_signature_timestamp",
]

# The largest body either path reads. Stripe caps an event at well under this; anything larger
# is refused with 413 on both paths instead of being applied on one and refused on the other.
MAX_BODY_BYTES = 1024 * 1024
# Provider events nest a handful of levels; the cap keeps a hostile body from exhausting the
# parser's recursion and SQLite's JSON functions (which refuse depth over 1000) alike.
MAX_JSON_DEPTH = 32
# The column sizes of core's event ledger: longer values could never be recorded.
MAX_EVENT_ID_CHARS = 255
MAX_EVENT_TYPE_CHARS = 100
MAX_SOURCE_CHARS = 50
# How far a signature's timestamp may lie from now, in either direction (Stripe's and the
# Standard Webhooks default): older is a replay, newer is a clock far off or a forged header.
TIMESTAMP_TOLERANCE_SECONDS = 300

CHECK_ORDER = (
    "size (413 payload_too_large)",
    "signature header present (400 missing_signature)",
    "timestamp within tolerance both ways (400 invalid_signature)",
    "UTF-8 body (400 invalid_event)",
    "signature matches (400 invalid_signature)",
    "JSON object, depth, finite numbers, id and type rules (400 invalid_event)",
)


class IntakeRefusal(Exception):
    """A delivery refused by the intake rules, with the HTTP status and code to answer."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_event"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadTooLargeError(IntakeRefusal):
    """The body is larger than :data:`MAX_BODY_BYTES`."""

    status = 413
    code = "payload_too_large"


class MissingSignatureError(IntakeRefusal):
    """The delivery carries no signature header."""

    code = "missing_signature"


class InvalidSignatureError(IntakeRefusal):
    """The signature is malformed, does not match, or its timestamp is out of tolerance."""

    code = "invalid_signature"


class InvalidEventError(IntakeRefusal):
    """The body is not an event core can apply."""

    code = "invalid_event"


@dataclass(frozen=True)
class ParsedEvent:
    """An event that passed every rule: its id, its type and the decoded JSON object."""

    event_id: str
    type: str
    payload: Mapping[str, Any]


def check_body_size(length: int | None) -> None:
    """Refuse a body (or a declared Content-Length) over :data:`MAX_BODY_BYTES`."""
    if length is not None and length > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"The body is {length} bytes; the limit is {MAX_BODY_BYTES} bytes."
        )


def check_timestamp(
    timestamp: float, now: float | None = None, tolerance: float = TIMESTAMP_TOLERANCE_SECONDS
) -> None:
    """Refuse a signature timestamp more than ``tolerance`` seconds from now, either way."""
    current = time.time() if now is None else now
    if not math.isfinite(timestamp):
        raise InvalidSignatureError("The signature's timestamp is not a number.")
    if timestamp < current - tolerance:
        raise InvalidSignatureError(f"The signature's timestamp is more than {tolerance:g} s old.")
    if timestamp > current + tolerance:
        raise InvalidSignatureError(
            f"The signature's timestamp is more than {tolerance:g} s in the future."
        )


def stripe_signature_timestamp(header: str) -> float:
    """Return the ``t`` of a ``Stripe-Signature`` header, refusing a header without one."""
    items = (item.partition("=") for item in header.split(","))
    stamps = [value.strip() for key, _, value in items if key.strip() == "t"]
    try:
        return float(int(stamps[0]))
    except (IndexError, ValueError):
        raise InvalidSignatureError("The Stripe-Signature has no valid timestamp.") from None


def decode_body(raw: bytes) -> str:
    """Return the body as text; JSON on the wire is UTF-8 (RFC 8259)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEventError("The body is not UTF-8 text.") from None


def parse_event(raw: bytes | str) -> ParsedEvent:
    """Return the event in ``raw`` if it is one core can apply, else raise InvalidEventError."""
    payload = parse_payload(raw)
    event_id, event_type = payload.get("id"), payload.get("type")
    check_event_fields(event_id, event_type)
    assert isinstance(event_id, str) and isinstance(event_type, str)  # checked just above
    return ParsedEvent(event_id, event_type, payload)


def parse_payload(raw: bytes | str) -> dict[str, Any]:
    """Decode ``raw`` as a JSON object within the depth limit, with finite numbers only."""
    text = decode_body(raw) if isinstance(raw, bytes) else raw
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise InvalidEventError("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidEventError("The body must be a JSON object.")
    if _depth(value) > MAX_JSON_DEPTH:
        raise _too_deep()
    return value


def check_event_fields(event_id: object, event_type: object, source: object = "webhook") -> None:
    """Refuse an id, type or source core's ledger could not record."""
    _check_text("id", event_id, MAX_EVENT_ID_CHARS)
    _check_text("type", event_type, MAX_EVENT_TYPE_CHARS)
    _check_text("source", source, MAX_SOURCE_CHARS)


def _check_text(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"The event needs a non-empty string '{name}'.")
    if len(value) > limit:
        raise InvalidEventError(f"The event's '{name}' is longer than {limit} characters.")
    # Control characters and lone surrogates cannot travel in a log line or a protobuf string.
    if not value.isprintable() or not _encodable(value):
        raise InvalidEventError(f"The event's '{name}' holds characters that are not printable.")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _too_deep() -> InvalidEventError:
    return InvalidEventError(f"The body nests deeper than {MAX_JSON_DEPTH} levels.")


def _depth(value: object) -> int:
    """Return how deeply ``value`` nests containers, without recursing in Python."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
