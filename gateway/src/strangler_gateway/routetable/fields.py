"""Typed reads of route-table fields that fail with the file, line and field in the message."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable.source import SourceMap

T = TypeVar("T")
_MISSING = object()


@dataclass(frozen=True)
class Section:
    """A part of the route table (a table, an array item) that errors can point at."""

    label: str
    line: int | None
    source: str
    src: SourceMap

    def child(self, label: str, line: int | None) -> "Section":
        """Return a section nested in this one, starting at ``line``."""
        return replace(self, label=label, line=line)

    def renamed(self, label: str) -> "Section":
        """Return this section under a better label (a route's name once it is known)."""
        return replace(self, label=label)

    def error(self, field: str | None, problem: str) -> RouteTableError:
        """Return an error pointing at ``field`` of this section (or the section itself)."""
        line = self.src.key(self.line, field) if field else self.line
        where = f"{self.source}:{line}" if line else self.source
        what = f"{self.label}, field '{field}'" if field else self.label
        return RouteTableError(f"{where}: {what}: {problem}")

    def refuse_unknown(self, data: dict[str, object], allowed: Iterable[str]) -> None:
        """Refuse keys this section does not define (a typo must not be silently ignored)."""
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise self.error(key, f"unknown field (expected one of: {expected})")


def _get(data: dict[str, object], key: str, section: Section, kind: str, default: object) -> object:
    if key in data:
        return data[key]
    if default is _MISSING:
        raise section.error(key, f"missing: expected {kind}")
    return default


def get_str(
    data: dict[str, object],
    key: str,
    section: Section,
    *,
    pattern: str | None = None,
    choices: Iterable[str] | None = None,
    default: object = _MISSING,
) -> str:
    """Return the string at ``key``, checked against ``pattern`` or ``choices``."""
    value = _get(data, key, section, "a string", default)
    if not isinstance(value, str):
        raise section.error(key, f"expected a string, got {value!r}")
    if pattern and not re.fullmatch(pattern, value):
        raise section.error(key, f"invalid value {value!r} (must match {pattern})")
    options = [str(choice) for choice in choices or ()]
    if options and value not in options:
        raise section.error(key, f"invalid value {value!r} (one of: {', '.join(options)})")
    return value


def get_int(
    data: dict[str, object],
    key: str,
    section: Section,
    low: int,
    high: int,
    *,
    default: object = _MISSING,
) -> int:
    """Return the integer at ``key``, checked to lie in ``low..high``."""
    value = _get(data, key, section, f"an integer {low}..{high}", default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise section.error(key, f"expected an integer {low}..{high}, got {value!r}")
    if not low <= value <= high:
        raise section.error(key, f"{value} is outside {low}..{high}")
    return value


def get_percent(
    data: dict[str, object], key: str, section: Section, *, default: object = _MISSING
) -> float:
    """Return the share at ``key``: a number 0..100 in steps of 0.01, as nginx's split takes."""
    value = _get(data, key, section, "a number 0..100", default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise section.error(key, f"expected a number 0..100, got {value!r}")
    if not 0 <= value <= 100:
        raise section.error(key, f"{value} is outside 0..100")
    if round(value, 2) != value:
        raise section.error(key, f"{value} has more than two decimals (the finest step is 0.01)")
    return value


def get_bool(
    data: dict[str, object], key: str, section: Section, *, default: object = _MISSING
) -> bool:
    """Return the boolean at ``key``."""
    value = _get(data, key, section, "true or false", default)
    if not isinstance(value, bool):
        raise section.error(key, f"expected true or false, got {value!r}")
    return value


def get_str_list(
    data: dict[str, object], key: str, section: Section, *, pattern: str
) -> tuple[str, ...]:
    """Return the non-empty list of strings at ``key``, each matching ``pattern``."""
    value = _get(data, key, section, "a list of strings", _MISSING)
    if not isinstance(value, list) or not value:
        raise section.error(key, f"expected a non-empty list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not re.fullmatch(pattern, item):
            raise section.error(key, f"invalid entry {item!r} (must match {pattern})")
    return tuple(value)
