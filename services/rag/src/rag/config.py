"""The service's one typed settings object, read from ``RAG_*`` environment variables.

Each variable is documented once, here, on its field. The service token is not a setting: it is
shared by every service and loaded by ``strangler_shared.load_service_token`` at start-up.
"""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Limits that are part of the HTTP and gRPC contracts, so not configurable.
MAX_K = 50
MAX_QUERY_CHARS = 500
MAX_QUESTION_CHARS = 2000


class Settings(BaseSettings):
    """Configuration of the rag process; every field is ``RAG_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid")

    core_grpc_target: str = Field(
        default="127.0.0.1:50051",
        description="RAG_CORE_GRPC_TARGET: host:port of core's CoreService.",
    )
    grpc_bind: str = Field(
        default="127.0.0.1:50052",
        description="RAG_GRPC_BIND: host:port the RagService gRPC server listens on (port 0: any).",
    )
    sync_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="RAG_SYNC_INTERVAL_SECONDS: pause between incremental pulls from core.",
    )
    sync_stream_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="RAG_SYNC_STREAM_TIMEOUT_SECONDS: deadline of one ListArticles stream.",
    )
    sync_retry_initial_seconds: float = Field(
        default=0.5,
        gt=0,
        description="RAG_SYNC_RETRY_INITIAL_SECONDS: wait after the first failed pull (doubles).",
    )
    sync_retry_max_seconds: float = Field(
        default=10.0,
        gt=0,
        description="RAG_SYNC_RETRY_MAX_SECONDS: longest wait between failed pulls.",
    )
    core_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description=(
            "RAG_CORE_TIMEOUT_SECONDS: deadline of unary calls to core; below core's own 3 s "
            "budget for calling rag, so rag answers before its caller gives up."
        ),
    )
    grpc_shutdown_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        description="RAG_GRPC_SHUTDOWN_GRACE_SECONDS: time in-flight RPCs get at shutdown.",
    )
    search_default_k: int = Field(
        default=5,
        ge=1,
        le=MAX_K,
        description="RAG_SEARCH_DEFAULT_K: results of /api/search and Search without k.",
    )
    chat_default_k: int = Field(
        default=4,
        ge=1,
        le=MAX_K,
        description="RAG_CHAT_DEFAULT_K: articles /api/chat draws on without k.",
    )
    suggestions_default_k: int = Field(
        default=3,
        ge=1,
        le=MAX_K,
        description="RAG_SUGGESTIONS_DEFAULT_K: suggestions per customer without k.",
    )


@lru_cache
def get_settings() -> Settings:
    """Return the process's settings, read from the environment once."""
    return Settings()
