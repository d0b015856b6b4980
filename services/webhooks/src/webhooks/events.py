"""The values that pass between the intake's steps, independent of any provider or transport."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class EventIdentity(NamedTuple):
    """What a verifier reads from an authentic delivery: the sender's event id and type."""

    event_id: str
    type: str


@dataclass(frozen=True)
class VerifiedEvent:
    """An authentic delivery, with its body kept byte for byte as the sender signed it."""

    source: str
    event_id: str
    type: str
    payload: bytes
    received_at: datetime
    # Events with the same key are applied in the order they were stored (None: no order).
    ordering_key: str | None = None


class Outcome(StrEnum):
    """What applying an event did, as core reports it."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


def ordering_key(payload: Mapping[str, Any]) -> str | None:
    """Return the object whose state the event changes in core: its customer, else the object.

    core keeps billing state per customer, so two events about one customer (an invoice failing,
    then being paid) must be applied in the order they were sent even if the first is retried.
    """
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        return None
    customer = obj.get("customer")
    if isinstance(customer, Mapping):
        customer = customer.get("id")
    if isinstance(customer, str) and customer:
        return f"customer:{customer}"
    object_id = obj.get("id")
    return f"object:{object_id}" if isinstance(object_id, str) and object_id else None
