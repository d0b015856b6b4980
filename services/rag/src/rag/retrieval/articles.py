"""What rag keeps of core's knowledge base: articles, and the changes the sync applies to them."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Article:
    """One knowledge-base article as rag keeps it."""

    id: int
    slug: str
    title: str
    body: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deletion:
    """A tombstone: the article with this id is gone."""

    article_id: int


Change = Article | Deletion


def search_text(article: Article) -> str:
    """Return the text an article is ranked by."""
    # The title counts twice: a title match says more about an article than a body match.
    return " ".join((article.title, article.title, " ".join(article.tags), article.body))
