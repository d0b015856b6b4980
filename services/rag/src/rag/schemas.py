"""The JSON shapes of rag's HTTP API; they are the contract core's legacy views answer with too."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rag.config import MAX_K, MAX_QUESTION_CHARS
from rag.faults import MAX_ADDED_LATENCY_SECONDS, MAX_TOKEN_DELAY_SECONDS
from rag.retrieval.index import Article, SearchHit


class SearchResult(BaseModel):
    """One ranked article."""

    id: int
    slug: str
    title: str
    snippet: str = Field(description="A passage of the body (at most 240 characters).")
    score: float = Field(description="BM25 score, always > 0.")

    @classmethod
    def from_hit(cls, hit: SearchHit) -> "SearchResult":
        """Describe a search hit."""
        article = hit.article
        return cls(
            id=article.id,
            slug=article.slug,
            title=article.title,
            snippet=hit.snippet,
            score=hit.score,
        )


class SearchResponse(BaseModel):
    """The best k articles for a query, best first."""

    query: str
    k: int
    results: list[SearchResult]


class ChatRequest(BaseModel):
    """A question about the product."""

    # Unknown fields are refused and types are not coerced: a client bug should fail loudly.
    model_config = ConfigDict(extra="forbid", strict=True)

    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)
    ]
    k: int = Field(default=4, ge=1, le=MAX_K, description="How many articles to draw on.")

    def k_or(self, default: int) -> int:
        """Return ``k`` as the client sent it, or ``default`` when it was left out."""
        return self.k if "k" in self.model_fields_set else default


class Source(BaseModel):
    """An article an answer cites; ``[n]`` in the answer is ``sources[n - 1]``."""

    id: int
    slug: str
    title: str

    @classmethod
    def from_article(cls, article: Article) -> "Source":
        """Describe a cited article."""
        return cls(id=article.id, slug=article.slug, title=article.title)


class ChatResponse(BaseModel):
    """An answer composed from the knowledge base, with its sources."""

    answer: str
    sources: list[Source]


class SuggestionsResponse(BaseModel):
    """Help articles suggested for one customer."""

    customer_id: int
    query: str
    results: list[SearchResult]


class HealthResponse(BaseModel):
    """The process is up and its knowledge base has been synced from core."""

    status: Literal["ok"]
    articles: int


class CurrentUser(BaseModel):
    """The signed-in user, as core vouched for them through the gateway."""

    user_id: str = Field(description="The user's id in the monolith.")
    staff: bool = Field(description="Whether the user may use staff-only actions.")


class ErrorDetail(BaseModel):
    """What went wrong: a machine-readable code, a human message, per-field messages."""

    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorResponse(BaseModel):
    """The error envelope every HTTP API of the project answers with."""

    error: ErrorDetail


class FaultFlagsBody(BaseModel):
    """Fault flags to switch on (a field left out is off)."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of public API requests answered 500."
    )
    added_latency_seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_ADDED_LATENCY_SECONDS,
        description="Pause before each public API request.",
    )
    token_delay_seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_TOKEN_DELAY_SECONDS,
        description="Pause before each token of every answer (SSE, WebSocket, gRPC and JSON).",
    )
