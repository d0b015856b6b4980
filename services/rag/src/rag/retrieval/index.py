"""The in-memory BM25 index of the knowledge base, shared by the HTTP API and gRPC.

The corpus is small (a help centre, not the web), so every change rebuilds the bm25s index from
scratch: simple and always correct. Each build produces an immutable snapshot that replaces the
previous one in a single assignment, so a search (on the event loop or in any thread) always
reads one consistent snapshot and never waits for a rebuild; writers are serialised by a lock.
"""

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import bm25s
import numpy as np

from rag.retrieval.snippets import make_snippet
from rag.retrieval.text import analyze, analyze_many


@dataclass(frozen=True, slots=True)
class Article:
    """One knowledge-base article as rag keeps it."""

    id: int
    slug: str
    title: str
    body: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An article that matched a query, with its BM25 score and a passage to show."""

    article: Article
    score: float
    snippet: str


def _document(article: Article) -> str:
    # The title counts twice: a title match says more about an article than a body match.
    return " ".join((article.title, article.title, " ".join(article.tags), article.body))


@dataclass(frozen=True, slots=True)
class Deletion:
    """A tombstone: the article with this id is gone."""

    article_id: int


Change = Article | Deletion


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_id: Mapping[int, Article] = field(default_factory=dict)
    articles: tuple[Article, ...] = ()
    retriever: bm25s.BM25 | None = None

    @classmethod
    def build(cls, by_id: Mapping[int, Article]) -> "_Snapshot":
        articles = tuple(by_id[article_id] for article_id in sorted(by_id))
        if not articles:
            return cls()
        retriever = bm25s.BM25()
        retriever.index(analyze_many([_document(a) for a in articles]), show_progress=False)
        return cls(by_id, articles, retriever)

    def scores(self, terms: frozenset[str]) -> np.ndarray:
        if self.retriever is None:
            return np.zeros(0, dtype=np.float32)
        known = [term for term in terms if term and term in self.retriever.vocab_dict]
        if not known:
            return np.zeros(len(self.articles), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known))


class ArticleIndex:
    """Articles by id, searchable with BM25; safe to read and write from any thread or task."""

    def __init__(self, articles: Iterable[Article] = ()) -> None:
        self._lock = threading.Lock()
        self._snapshot = _Snapshot.build({article.id: article for article in articles})

    def __len__(self) -> int:
        return len(self._snapshot.articles)

    def get(self, article_id: int) -> Article | None:
        """Return the article with this id, if the index has it."""
        return self._snapshot.by_id.get(article_id)

    def upsert(self, article: Article) -> None:
        """Add an article or replace the one with the same id."""
        self.apply([article])

    def delete(self, article_id: int) -> None:
        """Remove an article; removing an unknown id does nothing."""
        self.apply([Deletion(article_id)])

    def apply(self, changes: Iterable[Change]) -> None:
        """Apply upserts and deletions in the order given, then swap in one rebuilt index."""
        with self._lock:
            by_id = dict(self._snapshot.by_id)
            for change in changes:
                if isinstance(change, Deletion):
                    by_id.pop(change.article_id, None)
                else:
                    by_id[change.id] = change
            self._snapshot = _Snapshot.build(by_id)

    def search(self, query: str, k: int) -> list[SearchHit]:
        """Return at most ``k`` articles matching the query, best first, each with score > 0."""
        snapshot = self._snapshot
        terms = frozenset(analyze(query))
        scores = snapshot.scores(terms)
        # Stable sort on the negated scores: equal scores keep id order, so ranking is repeatable.
        ranked = np.argsort(-scores, kind="stable")[:k]
        return [
            SearchHit(
                article=snapshot.articles[i],
                score=float(scores[i]),
                snippet=make_snippet(snapshot.articles[i].body, terms),
            )
            for i in ranked
            if scores[i] > 0
        ]
