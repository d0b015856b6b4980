"""The interface between the article index and a ranking method (BM25, dense embeddings).

The index owns the articles and rebuilds a ranker from all of them whenever they change; a ranker
is immutable once built, so searches never see a half-built one.
"""

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from rag.retrieval.articles import Article


class Ranker(Protocol):
    """Scores of one fixed list of articles for a query."""

    def scores(self, query: str, terms: frozenset[str]) -> np.ndarray:
        """Return one score per article, in build order; > 0 means the article matches."""
        ...


class Retriever(Protocol):
    """A ranking method: builds a ranker over the current articles."""

    name: str
    # True when scoring a query is heavy CPU work (a model runs): searches then leave the loop.
    blocking: bool

    def build(self, articles: Sequence[Article]) -> Ranker:
        """Build a ranker over these articles (never empty)."""
        ...
