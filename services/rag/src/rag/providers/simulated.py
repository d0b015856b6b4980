"""The load-study provider: a language model's timing without a language model.

Real model servers take 1-4 s to the first token and then stream at a steady rate; that latency,
not CPU, is what the migration to an async service is about. This provider waits
``first_token_seconds``, then streams the extractive answer word by word at
``tokens_per_second``, so load tests and streaming tests see a realistic shape offline. Words
that fall due together come out together, as a network read carries what arrived together.
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
        """Yield the answer on the configured schedule, every token that is due in one chunk.

        A model server's tokens that arrive together are read together: when the event loop
        wakes this stream late (a busy server), the tokens that fell due meanwhile go out as one
        chunk instead of one loop round trip and one pass through the pipeline each. The
        schedule pauses while the consumer holds a chunk, so a consumer that is slow on purpose
        (the token-delay fault, a client reading slowly) still gets one token at a time.
        """
        tokens = tokens_of("".join(self._extractive.compose(question, passages)))
        loop = asyncio.get_running_loop()
        start = loop.time() + self._first_token
        sent = 0
        while sent < len(tokens):
            # Sleep until the due time rather than a fixed pause: the rate holds whatever each
            # step costs.
            delay = start + sent * self._interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            due = min(len(tokens), max(sent + 1, int((loop.time() - start) / self._interval) + 1))
            held = loop.time()
            yield "".join(tokens[sent:due])
            sent = due
            start += loop.time() - held
