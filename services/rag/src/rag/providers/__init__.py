"""Answer providers: what turns retrieved articles into an answer, one chunk at a time."""

from rag.providers.base import AnswerProvider, Passage
from rag.providers.extractive import ExtractiveProvider

__all__ = ["AnswerProvider", "ExtractiveProvider", "Passage"]
