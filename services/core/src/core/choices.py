"""Django field choices from plain ``StrEnum`` classes.

The domain's enums are ordinary Python enums, so services and type checkers see real enum
members; model fields derive their choices (value, human label) from them.
"""

from enum import StrEnum


def choices_of(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """Return (value, label) pairs, e.g. ("past_due", "Past due")."""
    return [(member.value, member.value.replace("_", " ").capitalize()) for member in enum]
