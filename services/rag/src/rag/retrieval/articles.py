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


# How many times the title and the tags count in the ranked text. A title names what the
# article is about and tags are chosen by its author, so a match there says more than a word the
# body mentions in passing: at four, a title word outweighs the same word repeated three times
# in a body; tags, broader than a title, count half as much.
TITLE_WEIGHT = 4
TAGS_WEIGHT = 2


def search_text(article: Article) -> str:
    """Return the text an article is ranked by: its title and tags repeated, then its body."""
    tags = " ".join(article.tags)
    return " ".join([article.title] * TITLE_WEIGHT + [tags] * TAGS_WEIGHT + [article.body])
