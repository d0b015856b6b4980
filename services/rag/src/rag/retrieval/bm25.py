"""BM25 ranking with bm25s: the default retriever, lexical, fast and dependency-light.

An article is ranked as a whole (its title and tags repeated in front of its body, see
``search_text``) and, on top of that, by its title and its tags as BM25 fields of their own, the
scores summed as a search engine's multi-field query sums an "all" field and boosted fields. In
the whole-article text a word's weight comes from how rare it is among whole articles:
"workspace" is in most bodies, so even the one article titled after it gained almost nothing
from the match, and a rarer word mentioned in passing elsewhere won. In a field of its own, a
title or tag word weighs as much as it is rare among titles or tags.
"""

from collections.abc import Sequence

import bm25s
import numpy as np

from rag.retrieval.articles import Article, search_text
from rag.retrieval.text import analyze_many

# What a title's and the tags' own match add to the whole article's score. A title or tag word
# is rarer among titles than among bodies, so its field score is already high; at a full weight,
# an article whose title or tags share one word of the question ("Managing email notifications")
# outranked the one whose body answers it on several. On the labelled questions
# (strangler_bench.quality), these weights took rag from hit@1/hit@3 0.90/0.92 to 0.90/0.96;
# a title weight of 0.5 or more cost 2 to 10 points of hit@1, tags alone stopped at 0.94.
TITLE_FIELD_WEIGHT = 0.25
TAGS_FIELD_WEIGHT = 0.5


# A term's postings: the articles it occurs in and its (weighted, summed) score in each.
Postings = tuple[np.ndarray, np.ndarray]


def field_postings(texts: Sequence[str], weight: float) -> dict[str, Postings]:
    """Return each term's BM25 score per article in one field, scaled by the field's weight."""
    tokens = analyze_many(texts)
    # bm25s cannot index a corpus without a single word (no article has tags, say).
    if not any(tokens):
        return {}
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    # bm25s keeps each term's scores as a column of a sparse matrix (CSC: data, indices, indptr);
    # the empty term it adds for empty texts has no column.
    data, indices, indptr = (bm25.scores[key] for key in ("data", "indices", "indptr"))
    return {
        term: (indices[indptr[i] : indptr[i + 1]], weight * data[indptr[i] : indptr[i + 1]])
        for term, i in bm25.vocab_dict.items()
        if term and i + 1 < len(indptr)
    }


def merged_postings(fields: Sequence[dict[str, Postings]], count: int) -> dict[str, Postings]:
    """Return each term's summed score over the fields, for the articles it occurs in."""
    merged: dict[str, Postings] = {}
    for term in set().union(*fields):
        total = np.zeros(count, dtype=np.float32)
        for field in fields:
            if term in field:
                total[field[term][0]] += field[term][1]
        (articles,) = np.nonzero(total)
        merged[term] = (articles, total[articles])
    return merged


class Bm25Ranker:
    """Weighted BM25 scores of each article as a whole, of its title and of its tags."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._count = len(articles)
        fields = [
            field_postings([search_text(a) for a in articles], 1.0),
            field_postings([a.title for a in articles], TITLE_FIELD_WEIGHT),
            field_postings([" ".join(a.tags) for a in articles], TAGS_FIELD_WEIGHT),
        ]
        # Summed once here, so a query adds one array per term instead of scoring three fields.
        self._postings = merged_postings(fields, self._count)

    def scores(self, query: str, terms: frozenset[str]) -> np.ndarray:
        """Return each article's summed field scores for the query's terms (0 when none occurs)."""
        total = np.zeros(self._count, dtype=np.float32)
        for term in terms:
            postings = self._postings.get(term)
            if postings is not None:
                total[postings[0]] += postings[1]
        return total


class Bm25Retriever:
    """Build BM25 rankers (the default retriever)."""

    name = "bm25"
    blocking = False

    def build(self, articles: Sequence[Article]) -> Bm25Ranker:
        """Index the articles' stemmed, stopword-free terms, whole and by field."""
        return Bm25Ranker(articles)
