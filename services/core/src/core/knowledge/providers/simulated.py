"""The load-study provider: a language model's timing, blocking the worker as a real call would.

Model servers take 1-4 s to their first token and then stream at a steady rate. A synchronous
view waiting on one holds its worker thread all that time, which is what a load study of the
monolith has to show. This provider sleeps (``time.sleep``, as the blocking client of a sync view
would wait) for ``first_token_seconds``, then yields the extractive answer word by word at
``tokens_per_second``. A wait longer than ``timeout_seconds`` ends in ProviderTimeoutError after
the timeout, as a real client's read timeout would.
"""

import re
import time
from collections.abc import Sequence

from core.knowledge.models import Article
from core.knowledge.providers.base import Chunks, ComposingProvider, ProviderTimeoutError
from core.knowledge.services import compose_answer

# A token is a word with the white space before it, so the tokens concatenate to the text.
_TOKEN = re.compile(r"\s*\S+")


def tokens_of(text: str) -> list[str]:
    """Split a text into word tokens that concatenate back to it (leading space kept)."""
    return _TOKEN.findall(text)


class SimulatedProvider(ComposingProvider):
    """Yield the extractive answer with a first-token delay and a fixed token rate."""

    name = "simulated"

    def __init__(
        self, first_token_seconds: float, tokens_per_second: float, timeout_seconds: float
    ) -> None:
        self._first_token = first_token_seconds
        self._interval = 1.0 / tokens_per_second
        self._timeout = timeout_seconds

    def compose(self, question: str, articles: Sequence[Article]) -> Chunks:
        """Yield the answer one word at a time, on the configured schedule."""
        text = compose_answer(question, articles).text
        start = time.monotonic() + self._first_token
        for number, token in enumerate(tokens_of(text)):
            # Sleep until the due time rather than a fixed pause: the rate holds whatever the
            # consumer does with each token.
            self._wait(start + number * self._interval - time.monotonic())
            yield token

    def _wait(self, seconds: float) -> None:
        if seconds > self._timeout:
            time.sleep(self._timeout)
            raise ProviderTimeoutError(f"the provider sent nothing for {self._timeout:g} s")
        if seconds > 0:
            time.sleep(seconds)
