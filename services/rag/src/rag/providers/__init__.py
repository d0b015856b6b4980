"""Answer providers: what turns retrieved articles into an answer, one chunk at a time."""

from rag.providers.base import AnswerProvider, Passage, ProviderError, ProviderTimeoutError
from rag.providers.extractive import ExtractiveProvider
from rag.providers.factory import build_provider
from rag.providers.openai import OpenAICompatibleProvider
from rag.providers.simulated import SimulatedProvider

__all__ = [
    "AnswerProvider",
    "ExtractiveProvider",
    "OpenAICompatibleProvider",
    "Passage",
    "ProviderError",
    "ProviderTimeoutError",
    "SimulatedProvider",
    "build_provider",
]
