"""What every service of the project needs the same way.

Nothing happens on import: each service calls these from its entrypoint.
"""

from strangler_shared._chat_completions import (
    CHAT_SYSTEM_PROMPT,
    ChatCompletionError,
    ChatCompletionStream,
    SSEDecoder,
    chat_messages,
    chunk_text,
    error_detail,
)
from strangler_shared._chat_stream import (
    EVENT_STREAM,
    PING,
    STREAM_HEADERS,
    ProviderError,
    ProviderTimeoutError,
    sse_event,
    wants_event_stream,
)
from strangler_shared._errors import error_body
from strangler_shared._grpc_auth import (
    AioServiceTokenServerInterceptor,
    ServiceTokenServerInterceptor,
    open_aio_channel,
    open_channel,
)
from strangler_shared._grpc_decode import (
    AioMalformedRequestServerInterceptor,
    MalformedRequestServerInterceptor,
)
from strangler_shared._grpc_limits import StreamLimitServerInterceptor
from strangler_shared._keepalive import IDLE_CONNECTION_SECONDS
from strangler_shared._logs import configure_logging
from strangler_shared._media_types import is_json_media_type
from strangler_shared._migration import MigrationBaggageSpanProcessor
from strangler_shared._params import INT64_MAX, INT64_MIN, AsciiInteger, WholeNumber
from strangler_shared._secrets import InvalidSecretError, load_service_token
from strangler_shared._service_header import SERVICE_HEADER, ServiceHeaderMiddleware
from strangler_shared._telemetry import (
    SERVICE_NAMES,
    setup_tracing,
    shutdown_tracing,
    use_stable_conventions,
)

__all__ = [
    "CHAT_SYSTEM_PROMPT",
    "EVENT_STREAM",
    "IDLE_CONNECTION_SECONDS",
    "INT64_MAX",
    "INT64_MIN",
    "PING",
    "SERVICE_HEADER",
    "SERVICE_NAMES",
    "STREAM_HEADERS",
    "AioMalformedRequestServerInterceptor",
    "AioServiceTokenServerInterceptor",
    "AsciiInteger",
    "ChatCompletionError",
    "ChatCompletionStream",
    "InvalidSecretError",
    "MalformedRequestServerInterceptor",
    "MigrationBaggageSpanProcessor",
    "ProviderError",
    "ProviderTimeoutError",
    "SSEDecoder",
    "ServiceHeaderMiddleware",
    "ServiceTokenServerInterceptor",
    "StreamLimitServerInterceptor",
    "WholeNumber",
    "chat_messages",
    "chunk_text",
    "configure_logging",
    "error_body",
    "error_detail",
    "is_json_media_type",
    "load_service_token",
    "open_aio_channel",
    "open_channel",
    "setup_tracing",
    "shutdown_tracing",
    "sse_event",
    "use_stable_conventions",
    "wants_event_stream",
]
