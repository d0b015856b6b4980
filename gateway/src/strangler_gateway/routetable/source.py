"""Find the line of a table or key in TOML source text.

``tomllib`` reports where the syntax breaks but not where a valid value sits, and a validation error
that says only "percent out of range" makes the operator hunt through the file. This scan is enough
for the route table's shape: ``[table]`` and ``[[array]]`` headers with ``key = value`` lines.
"""

import re
from dataclasses import dataclass

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)\s*=")


def _normalise(dotted: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in dotted.split("."))


@dataclass(frozen=True)
class _Header:
    line: int
    name: str
    is_array: bool


@dataclass(frozen=True)
class SourceMap:
    """Line numbers (1-based) of headers and keys in one TOML document."""

    lines: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> "SourceMap":
        return cls(tuple(text.splitlines()))

    def _headers(self) -> list[_Header]:
        headers = []
        for number, text in enumerate(self.lines, start=1):
            match = _HEADER.match(text)
            if match:
                headers.append(_Header(number, _normalise(match[2]), match[1] == "[["))
        return headers

    def table(self, name: str) -> int | None:
        """Return the line of the ``[name]`` header."""
        found = [h.line for h in self._headers() if h.name == name and not h.is_array]
        return found[0] if found else None

    def array_item(self, name: str, index: int) -> int | None:
        """Return the line of the ``index``-th (0-based) ``[[name]]`` header."""
        found = [h.line for h in self._headers() if h.name == name and h.is_array]
        return found[index] if index < len(found) else None

    def key(self, section_line: int | None, key: str) -> int | None:
        """Return the line of ``key = ...`` in the section starting at ``section_line``."""
        start = section_line or 0
        for number in range(start + 1, len(self.lines) + 1):
            text = self.lines[number - 1]
            if _HEADER.match(text):
                break
            match = _KEY.match(text)
            if match and match[1].strip("\"'") == key:
                return number
        return section_line
