"""Answers as flat maps of JSON paths to values, the form every comparison rule works on.

A path looks like the route table's ``ignore`` entries: ``k``, ``billing.currency``,
``results[2].score``; ``results[].score`` is its pattern (any index). Two pseudo-paths carry what
is not JSON: ``(status)`` the HTTP status, ``(body)`` a body that is not JSON (compared as bytes).
"""

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strangler_gateway.shadow.models import MISSING

__all__ = [
    "BODY",
    "STATUS",
    "Answer",
    "Flat",
    "differing_paths",
    "flatten",
    "is_under",
    "pattern_of",
    "same",
]

STATUS = "(status)"
BODY = "(body)"
ROOT = "$"
_INDEX = re.compile(r"\[\d+\]")

Flat = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """One upstream's response: status, body and whether the body is JSON."""

    status: int
    body: bytes
    content_type: str = "application/json"

    def document(self) -> Any:
        """Return the body parsed as JSON, or ``MISSING`` when it is not JSON."""
        if "json" not in self.content_type.lower():
            return MISSING
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return MISSING

    def flat(self) -> Flat:
        """Return the status and every leaf of the body, keyed by path."""
        document = self.document()
        if document is MISSING:
            # Not JSON: the bytes are the value (escaped, so different bytes stay different).
            return {STATUS: self.status, BODY: self.body.decode("utf-8", "backslashreplace")}
        return {STATUS: self.status, **flatten(document)}


def flatten(document: Any, path: str = "") -> Flat:
    """Return ``{path: value}`` for every leaf of ``document`` (empty containers are leaves)."""
    if isinstance(document, dict) and document:
        flat: Flat = {}
        for key, value in document.items():
            flat.update(flatten(value, f"{path}.{key}" if path else str(key)))
        return flat
    if isinstance(document, list) and document:
        flat = {}
        for index, value in enumerate(document):
            flat.update(flatten(value, f"{path}[{index}]"))
        return flat
    return {path or ROOT: document}


def pattern_of(path: str) -> str:
    """Return the path with every list index replaced by ``[]`` (``results[].score``)."""
    return _INDEX.sub("[]", path)


def is_under(path: str, patterns: Iterable[str]) -> bool:
    """Return whether ``path`` is one of ``patterns`` or inside one of them."""
    general = pattern_of(path)
    for pattern in patterns:
        if general == pattern or general.startswith((pattern + ".", pattern + "[")):
            return True
    return False


def same(left: Any, right: Any) -> bool:
    """Return whether two JSON leaves are equal (1 == 1.0, but true is not 1)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, float) or isinstance(right, float):
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        # Two implementations computing the same score may round the last bit differently.
        return numbers and math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return type(left) is type(right) and bool(left == right)


def differing_paths(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[str]:
    """Return the paths whose values differ (or exist on one side only), in document order."""
    paths = list(left) + [path for path in right if path not in left]
    return [
        path
        for path in paths
        if path not in left or path not in right or not same(left[path], right[path])
    ]
