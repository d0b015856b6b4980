"""BM25 ranking with bm25s: the default retriever, lexical, fast and dependency-light."""

from collections.abc import Sequence

import bm25s
import numpy as np

from rag.retrieval.articles import Article, search_text
from rag.retrieval.text import analyze_many


class Bm25Ranker:
    """BM25 scores over one list of articles."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._count = len(articles)
        self._bm25 = bm25s.BM25()
        self._bm25.index(analyze_many([search_text(a) for a in articles]), show_progress=False)

    def scores(self, query: str, terms: frozenset[str]) -> np.ndarray:
        """Return each article's BM25 score for the query's terms (0 when none occurs)."""
        known = [term for term in terms if term and term in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self._count, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known))


class Bm25Retriever:
    """Build BM25 rankers (the default retriever)."""

    name = "bm25"
    blocking = False

    def build(self, articles: Sequence[Article]) -> Bm25Ranker:
        """Index the articles' stemmed, stopword-free terms."""
        return Bm25Ranker(articles)
