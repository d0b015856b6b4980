"""Plain-text helpers of the legacy search: query terms, snippets, sentences.

Deliberately simple, as the monolith always had it: lower-cased word terms matched as substrings
(the same semantics as the ORM's ``icontains`` filter), no stemming, no ranking model.
"""

import re
from collections.abc import Iterator, Sequence

SNIPPET_WIDTH = 240
MAX_TERMS = 20
_ELLIPSIS = "…"
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MARKUP = "#>*- \t"
# Words too common to say anything about what an article is about. Matched as substrings, a
# short one like "not" would also hit "notion" and "notifications". rag drops the same words.
_STOPWORDS_TEXT = """
a an and are as at be but by can do does for from how i if in into is it its me my no not of on
or our so such that the their then there these they this to was we what when where which who
why will with you your
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def query_terms(query: str) -> list[str]:
    """Return the distinct lower-cased search terms of a query, without stopwords."""
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        if len(word) > 1 and word not in STOPWORDS and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def squash(text: str) -> str:
    """Collapse every run of whitespace into one space."""
    return " ".join(text.split())


def snippet(body: str, terms: Sequence[str], width: int = SNIPPET_WIDTH) -> str:
    """Return a passage of at most ``width`` characters around the first matched term."""
    text = squash(body)
    if len(text) <= width:
        return text
    start = _window_start(text, terms, width)
    prefix = _ELLIPSIS if start > 0 else ""
    end = start + width - len(prefix)
    if end >= len(text):
        return prefix + text[start:]
    end -= len(_ELLIPSIS)
    cut = text.rfind(" ", start, end)
    if cut > start + width // 2:
        end = cut
    return prefix + text[start:end].rstrip() + _ELLIPSIS


def _window_start(text: str, terms: Sequence[str], width: int) -> int:
    lower = text.lower()
    positions = [found for term in terms if (found := lower.find(term)) >= 0]
    if not positions:
        return 0
    start = max(0, min(positions) - width // 4)
    if start == 0:
        return 0
    space = text.find(" ", start, min(positions))
    return space + 1 if space != -1 else start


def sentences(body: str) -> Iterator[str]:
    """Yield the sentences of a body, one line or sentence at a time, without list markup."""
    for line in body.splitlines():
        cleaned = line.strip().lstrip(_MARKUP).strip()
        for sentence in _SENTENCE_END.split(cleaned):
            if sentence.strip():
                yield squash(sentence)


def count_matches(text: str, terms: Sequence[str]) -> tuple[int, int]:
    """Return how many distinct terms occur in the text, and how often they occur in all."""
    lower = text.lower()
    counts = [lower.count(term) for term in terms]
    return sum(1 for count in counts if count), sum(counts)
