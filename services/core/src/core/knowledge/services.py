"""The knowledge base's domain logic: the legacy search and chat, and the change feed.

Search and chat are the monolith's original implementations, kept as the baseline the new rag
service is compared against (shadow traffic, the contract suite): ORM ``icontains`` filters per
term, a term-frequency score, and an extractive answer built from the best sentence of each top
article. The change feed is what ``CoreService.ListArticles`` streams to rag.
"""

import base64
import binascii
import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from strangler_shared import INT64_MAX, INT64_MIN

from core.knowledge.models import Article, ArticleTombstone
from core.knowledge.text import count_matches, query_terms, sentences, snippet

TITLE_WEIGHT = 3
NO_ANSWER = "The knowledge base has nothing on that yet."
FEED_BATCH_SIZE = 100
_CURSOR_VERSION = "v1"


@dataclass(frozen=True)
class SearchHit:
    """An article that matched a query, its score and the passage to show."""

    article: Article
    score: float
    snippet: str


@dataclass(frozen=True)
class Answer:
    """An extractive answer, sentence by sentence, and the articles its [n] markers point to."""

    sentences: list[str]
    sources: list[Article]

    @property
    def text(self) -> str:
        """The whole answer: its cited sentences joined by spaces."""
        return " ".join(self.sentences)


def search_articles(query: str, k: int) -> list[SearchHit]:
    """Return at most k articles matching any query term, best score first."""
    terms = query_terms(query)
    if not terms:
        return []
    condition = Q()
    for term in terms:
        condition |= Q(title__icontains=term) | Q(body__icontains=term)
    hits = [_hit(article, terms) for article in Article.objects.filter(condition)]
    ranked = sorted((hit for hit in hits if hit.score > 0), key=lambda h: (-h.score, h.article.pk))
    return ranked[:k]


def _hit(article: Article, terms: list[str]) -> SearchHit:
    _, title_count = count_matches(article.title, terms)
    _, body_count = count_matches(article.body, terms)
    matched, _ = count_matches(f"{article.title}\n{article.body}", terms)
    frequency = TITLE_WEIGHT * title_count + body_count
    # Articles that match more of the query's terms beat those repeating one term often.
    score = round(frequency * matched / len(terms), 4)
    return SearchHit(article=article, score=score, snippet=snippet(article.body, terms))


def answer_question(question: str, k: int) -> Answer:
    """Compose an answer from the best sentence of each of the top k articles, with citations."""
    return compose_answer(question, [hit.article for hit in search_articles(question, k)])


def compose_answer(question: str, articles: Sequence[Article]) -> Answer:
    """Cite the best sentence of each article, in order; [n] is the n-th article."""
    if not articles:
        return Answer(sentences=[NO_ANSWER], sources=[])
    terms = query_terms(question)
    parts = [
        f"{best_sentence(article, terms)} [{number}]" for number, article in enumerate(articles, 1)
    ]
    return Answer(sentences=parts, sources=list(articles))


def best_sentence(article: Article, terms: list[str]) -> str:
    """Return the article's sentence that matches the most terms (the earliest on a tie)."""
    best, best_rank = article.title, (0, 0)
    for sentence in sentences(article.body):
        rank = count_matches(sentence, terms)
        if rank > best_rank:
            best, best_rank = sentence, rank
    return best


@dataclass(frozen=True, order=True)
class ChangeKey:
    """A position in the change feed: (updated_at, article id)."""

    changed_at: datetime
    article_id: int


@dataclass(frozen=True)
class ArticleChange:
    """One entry of the change feed: an article as it is now, or the tombstone of one."""

    key: ChangeKey
    slug: str
    article: Article | None = None

    @property
    def deleted(self) -> bool:
        """Tell whether this change announces a deletion."""
        return self.article is None


class InvalidCursorError(ValueError):
    """The cursor was not produced by this feed."""


def encode_cursor(key: ChangeKey) -> str:
    """Return the opaque cursor that resumes the feed right after ``key``."""
    raw = f"{_CURSOR_VERSION}|{key.changed_at.isoformat()}|{key.article_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> ChangeKey | None:
    """Return the position an opaque cursor stands for; None for the empty cursor."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, changed_at, article_id = raw.split("|")
        key = ChangeKey(datetime.fromisoformat(changed_at), int(article_id))
        if version != _CURSOR_VERSION or key.changed_at.tzinfo is None:
            raise InvalidCursorError("cursor is not a cursor of this feed")
        # The query compares in UTC: an offset that leaves datetime's range is no cursor of ours.
        key = ChangeKey(key.changed_at.astimezone(UTC), key.article_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise InvalidCursorError("cursor is not a cursor of this feed") from exc
    if not INT64_MIN <= key.article_id <= INT64_MAX:
        raise InvalidCursorError("cursor is not a cursor of this feed")
    return key


def changes_after(
    after: ChangeKey | None, limit: int | None = None, batch_size: int = FEED_BATCH_SIZE
) -> Iterator[ArticleChange]:
    """Yield articles and tombstones in (updated_at, id) order after ``after``, at most ``limit``.

    Reads in short batches, so a slow consumer never holds a database cursor open.
    """
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        batch = _batch_after(after, size)
        yield from batch
        if len(batch) < size:
            return
        after = batch[-1].key
        if remaining is not None:
            remaining -= len(batch)


def _batch_after(after: ChangeKey | None, size: int) -> list[ArticleChange]:
    articles: QuerySet[Article] = Article.objects.order_by("updated_at", "id")
    tombstones: QuerySet[ArticleTombstone] = ArticleTombstone.objects.order_by(
        "deleted_at", "article_id"
    )
    if after is not None:
        at, pk = after.changed_at, after.article_id
        articles = articles.filter(Q(updated_at__gt=at) | Q(updated_at=at, id__gt=pk))
        tombstones = tombstones.filter(Q(deleted_at__gt=at) | Q(deleted_at=at, article_id__gt=pk))
    merged = heapq.merge(
        (_article_change(article) for article in articles[:size]),
        (_tombstone_change(tombstone) for tombstone in tombstones[:size]),
        key=lambda change: change.key,
    )
    return list(itertools.islice(merged, size))


def _article_change(article: Article) -> ArticleChange:
    return ArticleChange(ChangeKey(article.updated_at, article.pk), article.slug, article)


def _tombstone_change(tombstone: ArticleTombstone) -> ArticleChange:
    key = ChangeKey(tombstone.deleted_at, tombstone.article_id)
    return ArticleChange(key, tombstone.slug)
