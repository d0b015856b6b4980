"""Answer providers of the legacy chat, and the one ``CORE_CHAT_PROVIDER`` names."""

from django.conf import settings

from core.knowledge.providers.base import (
    AnswerStream,
    ChatProvider,
    ComposingProvider,
    ProviderError,
    ProviderInternalError,
    ProviderTimeoutError,
    Source,
)
from core.knowledge.providers.extractive import ExtractiveProvider
from core.knowledge.providers.openai import OpenAICompatibleProvider
from core.knowledge.providers.rag import RagProvider
from core.knowledge.providers.simulated import SimulatedProvider

__all__ = [
    "AnswerStream",
    "ChatProvider",
    "ComposingProvider",
    "ExtractiveProvider",
    "OpenAICompatibleProvider",
    "ProviderError",
    "ProviderInternalError",
    "ProviderTimeoutError",
    "RagProvider",
    "SimulatedProvider",
    "Source",
    "get_provider",
]


def get_provider() -> ChatProvider:
    """Return the provider the settings name, configured from them."""
    name = settings.CORE_CHAT_PROVIDER
    if name == "simulated":
        return SimulatedProvider(
            settings.CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS,
            settings.CORE_CHAT_SIMULATED_TOKENS_PER_SECOND,
            settings.CORE_CHAT_TIMEOUT_SECONDS,
        )
    if name == "openai":
        return OpenAICompatibleProvider(
            base_url=settings.CORE_CHAT_OPENAI_BASE_URL,
            model=settings.CORE_CHAT_OPENAI_MODEL,
            api_key=settings.CORE_CHAT_OPENAI_API_KEY,
            timeout_seconds=settings.CORE_CHAT_TIMEOUT_SECONDS,
        )
    if name == "rag":
        return RagProvider()
    return ExtractiveProvider()
