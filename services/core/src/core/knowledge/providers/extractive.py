"""The offline default: the monolith's own extractive answer, one cited sentence per piece."""

from collections.abc import Sequence

from core.knowledge.models import Article
from core.knowledge.providers.base import Chunks, ComposingProvider
from core.knowledge.services import compose_answer


class ExtractiveProvider(ComposingProvider):
    """Answer with the best sentence of each article, each followed by its citation."""

    name = "extractive"

    def compose(self, question: str, articles: Sequence[Article]) -> Chunks:
        """Yield one cited sentence per piece (or the nothing-found answer)."""
        for number, sentence in enumerate(compose_answer(question, articles).sentences):
            yield sentence if number == 0 else f" {sentence}"
