"""The dense retriever, with a tiny deterministic embedder standing in for a model."""

from collections.abc import Sequence

import numpy as np
import pytest
from rag.config import Settings
from rag.main import build_retriever
from rag.retrieval.dense import DenseRetriever, DenseRetrieverUnavailableError
from rag.retrieval.index import Article, ArticleIndex

pytestmark = pytest.mark.anyio

# Words that mean the same thing share a dimension: what a real model learns, written down.
MEANINGS = {
    "card": 0, "payment": 0, "declined": 0, "billing": 0,
    "password": 1, "login": 1, "reset": 1,
    "trial": 2, "upgrade": 2, "plan": 2,
}  # fmt: skip


class MeaningEmbedder:
    """Count words per meaning: deterministic, and similar for texts about the same thing."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        vectors = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").split():
                vectors[row, MEANINGS.get(word, 3)] += 1
        return vectors


ARTICLES = [
    Article(1, "page", "The page", "A page about the payment card and the billing page."),
    Article(2, "login", "Login help", "Reset the password from the login page."),
    Article(3, "trial", "Trial", "Upgrade the trial to a plan."),
]


def test_ranks_lexical_matches_by_meaning() -> None:
    index = ArticleIndex(ARTICLES, retriever=DenseRetriever(MeaningEmbedder()))
    # Both 1 and 2 contain "page"; the query is about logging in, so 2 comes first.
    hits = index.search("login page password", 5)
    assert [hit.article.id for hit in hits] == [2, 1]
    assert all(0 < hit.score <= 1 for hit in hits)
    assert "password" in hits[0].snippet


def test_an_article_without_a_query_term_never_matches() -> None:
    index = ArticleIndex(ARTICLES, retriever=DenseRetriever(MeaningEmbedder()))
    assert index.search("xylophone", 5) == []
    assert [hit.article.id for hit in index.search("upgrade", 5)] == [3]


def test_a_rebuild_embeds_only_changed_articles() -> None:
    embedder = MeaningEmbedder()
    index = ArticleIndex(ARTICLES, retriever=DenseRetriever(embedder))
    embedder.embedded.clear()
    index.upsert(Article(3, "trial", "Trial", "Upgrade your trial to a paid plan."))
    assert len(embedder.embedded) == 1 and "paid plan" in embedder.embedded[0]


async def test_search_async_runs_the_model_off_the_event_loop() -> None:
    index = ArticleIndex(ARTICLES, retriever=DenseRetriever(MeaningEmbedder()))
    hits = await index.search_async("card declined", 5)
    assert [hit.article.id for hit in hits] == [1]


def test_bm25_is_the_default_retriever() -> None:
    assert build_retriever(Settings()).name == "bm25"


def test_choosing_dense_without_the_extra_says_how_to_install_it() -> None:
    try:
        import sentence_transformers  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(DenseRetrieverUnavailableError, match="extra"):
            build_retriever(Settings(retriever="dense"))
    else:
        pytest.skip("the dense extra is installed here")
