"""Related articles: a monolith feature that asks rag's index rather than the ORM.

An article's title and tags, as a query to ``RagService.Search``, find the articles that share
its subject; the article itself is dropped from the results. Ranking with rag's BM25 index is
better than the legacy substring search, and the monolith keeps owning the articles: only the
ranking crosses the service boundary.
"""

from core.knowledge import rag_client
from core.knowledge.models import Article
from core.knowledge.rag_client import RagHit

MAX_QUERY_CHARS = 500
MAX_K = 50
# Ids are 64-bit: a longer run of digits can only be a slug.
_MAX_ID_DIGITS = 18


class ArticleNotFoundError(LookupError):
    """No article has the given id or slug."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"article {reference!r} not found")


def find_article(reference: str) -> Article:
    """Return the article with this id (all digits) or slug, or raise ArticleNotFoundError."""
    is_id = reference.isascii() and reference.isdigit() and len(reference) <= _MAX_ID_DIGITS
    lookup = {"pk": int(reference)} if is_id else {"slug": reference}
    article = Article.objects.filter(**lookup).first()
    if article is None:
        raise ArticleNotFoundError(reference)
    return article


def related_query(article: Article) -> str:
    """Return the search query that describes an article: its title and its tags."""
    words = [article.title, *(str(tag).replace("-", " ") for tag in article.tags or [])]
    query = " ".join(" ".join(words).split())
    if len(query) <= MAX_QUERY_CHARS:
        return query
    return query[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]


def related_articles(article: Article, k: int) -> list[RagHit]:
    """Return up to ``k`` other articles rag ranks best for this one; raise RagError."""
    # One more than asked for, since the article itself usually ranks first.
    hits = rag_client.search(related_query(article), min(k + 1, MAX_K))
    return [hit for hit in hits if hit.id != article.pk][:k]
