"""The offline default provider: answer with the articles' own most relevant sentences.

No model and no network: each passage contributes its sentences that share the most terms with
the question, in the article's order, each followed by the passage's citation marker (``[1]``).
"""

import re
from collections.abc import AsyncIterator, Sequence

from rag.providers.base import Passage
from rag.retrieval.text import analyze, words

NOTHING_FOUND = "The knowledge base has nothing on that yet."
# A sentence ends at ., ! or ? followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Split a text into its non-empty sentences, white space normalised."""
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(text))
    return [part for part in parts if part]


def _overlap(sentence: str, terms: frozenset[str]) -> int:
    return len({word.term for word in words(sentence)} & terms)


def best_sentences(body: str, terms: frozenset[str], limit: int) -> list[str]:
    """Return up to ``limit`` sentences sharing the most terms, in the body's order."""
    sentences = split_sentences(body)
    overlaps = [_overlap(sentence, terms) for sentence in sentences]
    ranked = sorted(range(len(sentences)), key=lambda i: -overlaps[i])
    chosen = sorted(i for i in ranked[:limit] if overlaps[i] > 0)
    # A passage that matched only by its title still gets cited, by its opening sentence.
    return [sentences[i] for i in chosen] or sentences[:1]


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
        chunks: list[str] = []
        for passage in passages:
            article = passage.article
            sentences = best_sentences(article.body, terms, self._per_passage) or [article.title]
            for sentence in sentences:
                separator = " " if chunks else ""
                chunks.append(f"{separator}{sentence} [{passage.number}]")
        return chunks
