"""Choose the answer provider named by the settings (``RAG_PROVIDER``)."""

import aiohttp

from rag.config import Settings
from rag.providers.base import AnswerProvider
from rag.providers.extractive import ExtractiveProvider
from rag.providers.openai import OpenAICompatibleProvider
from rag.providers.simulated import SimulatedProvider


def build_provider(settings: Settings, session: aiohttp.ClientSession) -> AnswerProvider:
    """Return the configured provider; network providers share ``session``."""
    if settings.provider == "openai":
        key = settings.openai_api_key
        return OpenAICompatibleProvider(
            session,
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=key.get_secret_value() if key else None,
        )
    if settings.provider == "simulated":
        return SimulatedProvider(
            settings.simulated_first_token_seconds, settings.simulated_tokens_per_second
        )
    return ExtractiveProvider()
