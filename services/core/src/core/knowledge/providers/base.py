"""What every answer provider of the legacy chat offers, and the errors it may raise.

A provider answers in two steps, as the chat's two formats need them: first the sources (known
before any text is written), then the text, piece by piece, from a generator that blocks while
the provider works. The JSON view joins the pieces; the SSE view writes each one as it comes.
Closing the generator (the client went away, or the view gave up) stops the provider: its HTTP
request or gRPC call is dropped.

Most providers write the text from the articles core's own search retrieves
(:class:`ComposingProvider`); the ``rag`` provider delegates both steps to rag.
"""

from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# The errors are the chat contract's, shared with rag: their codes end a failed answer.
from strangler_shared import ProviderError as ProviderError
from strangler_shared import ProviderTimeoutError as ProviderTimeoutError

from core.knowledge.models import Article
from core.knowledge.services import search_articles

Chunks = Generator[str, None, None]


@dataclass(frozen=True)
class Source:
    """An article an answer cites; "[n]" in the answer is the n-th source."""

    id: int
    slug: str
    title: str

    @classmethod
    def of(cls, article: Article) -> "Source":
        """Return the source that cites ``article``."""
        return cls(id=article.pk, slug=article.slug, title=article.title)

    def as_dict(self) -> dict[str, Any]:
        """Return the source as the API shows it."""
        return {"id": self.id, "slug": self.slug, "title": self.title}


@dataclass
class AnswerStream:
    """An answer under way: its sources, and its text still being written."""

    sources: list[Source]
    chunks: Chunks

    def close(self) -> None:
        """Stop the provider, if it is still writing."""
        self.chunks.close()


class ProviderInternalError(ProviderError):
    """The answer broke for a reason that is no provider's (relayed from rag)."""

    code = "internal_error"


class ChatProvider(Protocol):
    """Answer a question from the knowledge base, citing at most ``k`` articles."""

    name: str

    def answer(self, question: str, k: int) -> AnswerStream:
        """Return the answer's sources and the generator of its text; raise ProviderError."""
        ...


class ComposingProvider(ABC):
    """A provider that writes from the articles core's own search retrieves."""

    name: str

    def answer(self, question: str, k: int) -> AnswerStream:
        """Retrieve the top k articles with the ORM, then let the provider write."""
        articles = [hit.article for hit in search_articles(question, k)]
        sources = [Source.of(article) for article in articles]
        return AnswerStream(sources=sources, chunks=self.compose(question, articles))

    @abstractmethod
    def compose(self, question: str, articles: Sequence[Article]) -> Chunks:
        """Yield the answer's text; concatenated, the pieces are the answer."""
