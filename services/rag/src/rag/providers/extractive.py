"""The offline default provider: answer with the articles' own most relevant sentences.

No model and no network: each relevant passage contributes its sentences that share the most
terms with the question, in the article's order, each followed by the passage's citation marker
(``[1]``). A passage is relevant when its retrieval score is close to the best one's: retrieval
always returns k articles, and citing the weak ones ("How do I get a refund?" answered with
sentences about plans) made three of four citations wrong. A passage other than the best is
cited only by its sentences that share at least three of the question's terms (all of them for
a shorter question): an article that ranks close to the best on common words ("card",
"workspace", "event") has no sentence about the question, and citing its nearest sentence cited
noise.
The best passage is always cited (by its opening sentence if none of its sentences shares a
term), so an answer never cites nothing.

An article's sentences and their terms are worked out once per body text and kept (the
knowledge base is a few hundred articles): stemming every cited body again on every answer was
the provider's whole cost.
"""

import re
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache

from rag.providers.base import Passage
from rag.retrieval.articles import Article
from rag.retrieval.text import analyze, words

NOTHING_FOUND = "The knowledge base has nothing on that yet."
# A passage is cited when its score is at least this share of the best passage's. On the
# project's labelled questions, 0.85 keeps nearly every second relevant article while dropping
# most of the irrelevant ones (lower ratios cite much more noise, higher ones little less).
RELEVANCE_RATIO = 0.85
# Question terms a sentence of a passage after the best must share to be cited (all of them when
# the question has fewer). One shared word is as often a coincidence as an answer, and so are
# two: on the project's labelled questions, 9 of the 11 citations of such sentences sharing two
# of a longer question's terms pointed at an article that does not answer it.
MIN_SHARED_TERMS = 3
# A sentence ends at ., ! or ? followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Split a text into its non-empty sentences, white space normalised."""
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(text))
    return [part for part in parts if part]


# Enough for every article of a help centre; a changed body is a new key, the old one ages out.
_ANALYSED_BODIES = 4096


@lru_cache(maxsize=_ANALYSED_BODIES)
def analysed_sentences(body: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Return the body's sentences, each with the set of terms it contains (cached per body)."""
    return tuple(
        (sentence, frozenset(word.term for word in words(sentence)))
        for sentence in split_sentences(body)
    )


def best_sentences(
    body: str, terms: frozenset[str], limit: int, *, min_shared: int = 1
) -> list[str]:
    """Return up to ``limit`` sentences sharing the most terms (at least ``min_shared``)."""
    analysed = analysed_sentences(body)
    overlaps = [len(sentence_terms & terms) for _, sentence_terms in analysed]
    ranked = sorted(range(len(analysed)), key=lambda i: -overlaps[i])
    # In the body's order, so the cited sentences read as the article does.
    chosen = sorted(i for i in ranked[:limit] if overlaps[i] >= max(min_shared, 1))
    return [analysed[i][0] for i in chosen]


def opening_sentence(article: Article) -> str:
    """Return the article's first sentence, or its title when the body is empty."""
    analysed = analysed_sentences(article.body)
    return analysed[0][0] if analysed else article.title


def relevant_passages(passages: Sequence[Passage]) -> list[Passage]:
    """Return the passages scored close enough to the best one (all of them without scores)."""
    best = max((passage.score for passage in passages), default=0.0)
    if best <= 0:
        return list(passages)
    return [passage for passage in passages if passage.score >= RELEVANCE_RATIO * best]


class ExtractiveProvider:
    """Answer with the passages' best sentences, each with its citation marker."""

    name = "extractive"

    def __init__(self, sentences_per_passage: int = 2) -> None:
        self._per_passage = sentences_per_passage

    async def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        """Yield one cited sentence per chunk, or the nothing-found answer."""
        for chunk in self.compose(question, passages):
            yield chunk

    def compose(self, question: str, passages: Sequence[Passage]) -> list[str]:
        """Return the answer's chunks: one cited sentence each, or the nothing-found answer."""
        if not passages:
            return [NOTHING_FOUND]
        terms = frozenset(analyze(question))
        min_shared = min(MIN_SHARED_TERMS, len(terms))
        chunks: list[str] = []
        for rank, passage in enumerate(relevant_passages(passages)):
            article = passage.article
            needed = 1 if rank == 0 else min_shared
            sentences = best_sentences(article.body, terms, self._per_passage, min_shared=needed)
            if not sentences and rank == 0:
                # The best passage may match by its title only: still cite it, by its opening.
                sentences = [opening_sentence(article)]
            for sentence in sentences:
                separator = " " if chunks else ""
                chunks.append(f"{separator}{sentence} [{passage.number}]")
        return chunks
