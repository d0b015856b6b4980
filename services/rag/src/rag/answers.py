"""Question answering: retrieve the top-k articles, then let a provider compose the answer.

Split in two steps so a streaming endpoint can send the sources first and then forward the
provider's chunks as they come, while the JSON endpoint just joins them.
"""

from rag.providers import AnswerProvider, Passage
from rag.retrieval.index import ArticleIndex


def retrieve_passages(index: ArticleIndex, question: str, k: int) -> list[Passage]:
    """Return the best ``k`` articles for a question, numbered for citation from 1."""
    hits = index.search(question, k)
    return [Passage(number, hit.article) for number, hit in enumerate(hits, start=1)]


async def compose_answer(provider: AnswerProvider, question: str, passages: list[Passage]) -> str:
    """Collect the provider's whole answer."""
    return "".join([chunk async for chunk in provider.stream_answer(question, passages)])
