"""The in-memory index of the knowledge base, shared by the HTTP API and gRPC.

The corpus is small (a help centre, not the web), so every change rebuilds the ranker from
scratch: simple and always correct. Each build produces an immutable snapshot that replaces the
previous one in a single assignment, so a search (on the event loop or in any thread) always
reads one consistent snapshot and never waits for a rebuild; writers are serialised by a lock.
How articles are ranked is the retriever's business (BM25 by default, see ``rag.retrieval.base``).
"""

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

import anyio.to_thread
import numpy as np

from rag.retrieval.articles import Article, Change, Deletion
from rag.retrieval.base import Ranker, Retriever
from rag.retrieval.bm25 import Bm25Retriever
from rag.retrieval.snippets import make_snippet
from rag.retrieval.text import analyze

__all__ = ["Article", "ArticleIndex", "Change", "Deletion", "SearchHit"]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An article that matched a query, with its score and a passage to show (or "" if unasked)."""

    article: Article
    score: float
    snippet: str


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_id: Mapping[int, Article] = field(default_factory=dict)
    articles: tuple[Article, ...] = ()
    ranker: Ranker | None = None

    @classmethod
    def build(cls, by_id: Mapping[int, Article], retriever: Retriever) -> "_Snapshot":
        articles = tuple(by_id[article_id] for article_id in sorted(by_id))
        if not articles:
            return cls()
        return cls(by_id, articles, retriever.build(articles))

    def scores(self, query: str, terms: frozenset[str]) -> np.ndarray:
        if self.ranker is None:
            return np.zeros(0, dtype=np.float32)
        return self.ranker.scores(query, terms)


def _differs(by_id: Mapping[int, Article], change: Change) -> bool:
    if isinstance(change, Deletion):
        return change.article_id in by_id
    return by_id.get(change.id) != change


class ArticleIndex:
    """Articles by id, ranked by a retriever; safe to read and write from any thread or task."""

    def __init__(
        self, articles: Iterable[Article] = (), retriever: Retriever | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._retriever: Retriever = retriever or Bm25Retriever()
        initial = {article.id: article for article in articles}
        self._snapshot = _Snapshot.build(initial, self._retriever)

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

    def apply(self, changes: Iterable[Change]) -> int:
        """Apply upserts and deletions in order; rebuild once if any changed something.

        Returns how many changes had an effect: re-applying what the index already holds (the
        sync re-reads its recent changes) neither counts nor rebuilds.
        """
        with self._lock:
            by_id = dict(self._snapshot.by_id)
            effective = 0
            for change in changes:
                if not _differs(by_id, change):
                    continue
                effective += 1
                if isinstance(change, Deletion):
                    del by_id[change.article_id]
                else:
                    by_id[change.id] = change
            if effective:
                self._snapshot = _Snapshot.build(by_id, self._retriever)
            return effective

    def search(self, query: str, k: int, *, snippets: bool = True) -> list[SearchHit]:
        """Return at most ``k`` articles matching the query, best first, each with score > 0.

        ``snippets=False`` leaves each hit's snippet empty: an answer cites whole articles, and
        cutting a passage (stemming the body up to its first matched word) was a twentieth of a
        chat request's CPU.
        """
        snapshot = self._snapshot
        terms = frozenset(analyze(query))
        scores = snapshot.scores(query, terms)
        # Stable sort on the negated scores: equal scores keep id order, so ranking is repeatable.
        ranked = np.argsort(-scores, kind="stable")[:k]
        return [
            SearchHit(
                article=snapshot.articles[i],
                score=float(scores[i]),
                snippet=make_snippet(snapshot.articles[i].body, terms) if snippets else "",
            )
            for i in ranked
            if scores[i] > 0
        ]

    async def search_async(self, query: str, k: int, *, snippets: bool = True) -> list[SearchHit]:
        """Search from the event loop, in a worker thread when the retriever runs a model."""
        if self._retriever.blocking:
            return await anyio.to_thread.run_sync(partial(self.search, snippets=snippets), query, k)
        return self.search(query, k, snippets=snippets)
