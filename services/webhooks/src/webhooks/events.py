"""The values that pass between the intake's steps, independent of any provider or transport."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


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


class Outcome(StrEnum):
    """What applying an event did, as core reports it."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
