"""A question's terms are the terms the index holds for the same words."""

import pytest
from rag.retrieval.text import analyze, analyze_many

TEXTS = [
    "How do I get a refund?",
    "Can't log in: my invoices, INVOICE and invoiced were charged twice!",
    "Café über naïve résumé_2 42 x",
    "",
    "the and of I",
    "When a card is declined, the invoice stays open and your subscription becomes past due. "
    "Update the card on the billing page. We retry the failed payment within a day.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_one_text_is_analysed_as_bm25s_analyses_it_for_the_index(text: str) -> None:
    assert analyze(text) == analyze_many([text])[0]
