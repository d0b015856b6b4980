"""The legacy and new searches agree closely enough for shadow comparison to mean something.

The shadow rule proposed for search is order-insensitive top-5 overlap (scores and snippets
ignored); this checks the measured agreement over the fixed query list does not regress below
what services/rag/README.md reports (`python -m rag.bench.agreement` prints the full table).
"""

import httpx
import pytest
from devstack import Stack
from rag.bench.agreement import compare

pytestmark = pytest.mark.stack


def test_search_results_agree_on_the_seeded_corpus(stack: Stack) -> None:
    ports = stack.config.ports
    with httpx.Client(timeout=10) as client:
        comparisons = compare(
            client,
            f"http://127.0.0.1:{ports.core_http}",
            f"http://127.0.0.1:{ports.rag_http}",
            k=5,
            chat=False,
        )
    mean_overlap = sum(c.overlap for c in comparisons) / len(comparisons)
    same_first = sum(c.same_first for c in comparisons) / len(comparisons)
    assert mean_overlap >= 0.7, [(c.query, c.legacy, c.new) for c in comparisons]
    assert same_first >= 0.9
