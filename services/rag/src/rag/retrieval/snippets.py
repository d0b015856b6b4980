"""The passage of an article shown under a search result."""

from rag.retrieval.text import first_match

SNIPPET_MAX_CHARS = 240
# How much of the window goes before the matched word, so the reader sees its context.
_LEAD_CHARS = 60
_ELLIPSIS = "…"


def make_snippet(body: str, terms: frozenset[str], limit: int = SNIPPET_MAX_CHARS) -> str:
    """Cut a passage of at most ``limit`` characters around the body's first matched term."""
    text = " ".join(body.split())
    if len(text) <= limit:
        return text
    match = first_match(text, terms)
    start = 0 if match is None else _window_start(text, match.start, match.end, limit)
    return _cut(text, start, limit)


def _window_start(text: str, match_start: int, match_end: int, limit: int) -> int:
    start = max(0, match_start - _LEAD_CHARS)
    # Begin at a word boundary, unless that would push the matched word out of the window.
    if start > 0:
        space = text.find(" ", start, match_start)
        start = space + 1 if space != -1 else match_start
    room = limit - 2 * len(_ELLIPSIS)
    if match_end - start > room:
        start = match_start
    return max(0, min(start, len(text) - room))


def _cut(text: str, start: int, limit: int) -> str:
    prefix = _ELLIPSIS if start > 0 else ""
    room = limit - len(prefix)
    if len(text) - start <= room:
        return prefix + text[start:]
    room -= len(_ELLIPSIS)
    end = start + room
    # End at a word boundary when one is in reach, so no word is cut in half.
    space = text.rfind(" ", start, end + 1)
    if space > start:
        end = space
    return prefix + text[start:end].rstrip() + _ELLIPSIS
