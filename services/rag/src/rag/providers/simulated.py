"""The load-study provider: a language model's timing without a language model.

Real model servers take 1-4 s to the first token and then stream at a steady rate; that latency,
not CPU, is what the migration to an async service is about. This provider waits
``first_token_seconds``, then streams the extractive answer word by word at
``tokens_per_second``, so load tests and streaming tests see a realistic shape offline.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from rag.providers.base import Passage
from rag.providers.extractive import ExtractiveProvider

# A token here is a word with the white space before it, so the tokens concatenate to the text.
_TOKEN = re.compile(r"\s*\S+")


def tokens_of(text: str) -> list[str]:
    """Split a text into word tokens that concatenate back to it (leading space kept)."""
    return _TOKEN.findall(text)


class SimulatedProvider:
    """Stream the extractive answer with a first-token delay and a fixed token rate."""

    name = "simulated"

    def __init__(
        self,
        first_token_seconds: float,
        tokens_per_second: float,
        extractive: ExtractiveProvider | None = None,
    ) -> None:
        self._first_token = first_token_seconds
        self._interval = 1.0 / tokens_per_second
        self._extractive = extractive or ExtractiveProvider()

    async def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        """Yield the answer one word at a time, on the configured schedule."""
        text = "".join(self._extractive.compose(question, passages))
        loop = asyncio.get_running_loop()
        start = loop.time() + self._first_token
        for number, token in enumerate(tokens_of(text)):
            # Sleep until the due time rather than a fixed pause: the rate holds whatever each
            # step costs.
            await asyncio.sleep(max(0.0, start + number * self._interval - loop.time()))
            yield token
