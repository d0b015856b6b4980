"""How closely the monolith's search and chat agree with rag's, over the fixed query list.

Shadow comparison only makes sense if the two sides agree when both are right, so this measures
what the shadow rule will see: for each query, the overlap of the top-k result ids (order
ignored) and whether the best result is the same; for chat, the overlap of the cited sources.

    uv run python -m rag.bench.agreement --legacy http://127.0.0.1:8000 --new http://127.0.0.1:8001

(the defaults are the local stack's core and rag, started by ``make up``).
"""

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from rag.bench.queries import QUERIES

# The shadow rules this repository proposes (README, "Shadow comparison"), order ignored and
# both sides empty counting as parity: search agrees when at least 3 of the top 5 ids are
# shared, chat when at least 2 of its 4 cited sources are.
SEARCH_PARITY = 0.6
CHAT_PARITY = 0.5


def overlap(legacy: Sequence[int], new: Sequence[int]) -> float:
    """Return the share of ids both lists hold, of the longer list (1.0 when both are empty)."""
    if not legacy and not new:
        return 1.0
    return len(set(legacy) & set(new)) / max(len(legacy), len(new))


@dataclass(frozen=True)
class Comparison:
    """One query's results on both sides."""

    query: str
    legacy: list[int]
    new: list[int]

    @property
    def overlap(self) -> float:
        """Top-k overlap, order ignored."""
        return overlap(self.legacy, self.new)

    @property
    def same_first(self) -> bool:
        """Whether both sides rank the same article first (or both find nothing)."""
        return self.legacy[:1] == self.new[:1]


def _search_ids(client: httpx.Client, base_url: str, query: str, k: int) -> list[int]:
    response = client.get(f"{base_url}/api/search", params={"q": query, "k": k})
    response.raise_for_status()
    return [result["id"] for result in response.json()["results"]]


def _source_ids(client: httpx.Client, base_url: str, query: str, k: int) -> list[int]:
    response = client.post(f"{base_url}/api/chat", json={"question": query, "k": k})
    response.raise_for_status()
    return [source["id"] for source in response.json()["sources"]]


def compare(client: httpx.Client, legacy: str, new: str, k: int, chat: bool) -> list[Comparison]:
    """Ask both sides every query; return what each answered."""
    fetch = _source_ids if chat else _search_ids
    return [
        Comparison(query, fetch(client, legacy, query, k), fetch(client, new, query, k))
        for query in QUERIES
    ]


def _table(title: str, comparisons: list[Comparison], k: int) -> list[str]:
    lines = [f"## {title} (k={k})", "", "| query | legacy ids | new ids | overlap | same #1 |"]
    lines.append("|---|---|---|---:|:---:|")
    for c in comparisons:
        mark = "yes" if c.same_first else "no"
        lines.append(f"| {c.query} | {c.legacy} | {c.new} | {c.overlap:.2f} | {mark} |")
    return [*lines, ""]


def summary(title: str, comparisons: list[Comparison], threshold: float) -> str:
    """Return one line of totals: mean overlap, parity rate by ``threshold``, same-first rate."""
    overlaps = [c.overlap for c in comparisons]
    parity = sum(o >= threshold for o in overlaps) / len(overlaps)
    first = sum(c.same_first for c in comparisons) / len(comparisons)
    return (
        f"{title}: {len(comparisons)} queries, mean overlap {statistics.mean(overlaps):.2f}, "
        f"parity (overlap >= {threshold}) {parity:.0%}, same first result {first:.0%}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the agreement tables and their summary lines."""
    parser = argparse.ArgumentParser(prog="python -m rag.bench.agreement", description=__doc__)
    parser.add_argument("--legacy", default="http://127.0.0.1:8000", help="core's base URL")
    parser.add_argument("--new", default="http://127.0.0.1:8001", help="rag's base URL")
    parser.add_argument("--k", type=int, default=5, help="search results compared (default 5)")
    parser.add_argument("--chat-k", type=int, default=4, help="chat sources (default 4)")
    args = parser.parse_args(argv)
    try:
        with httpx.Client(timeout=30) as client:
            search = compare(client, args.legacy, args.new, args.k, chat=False)
            chat = compare(client, args.legacy, args.new, args.chat_k, chat=True)
    except httpx.HTTPError as error:
        print(f"cannot compare: {error} (is the stack running? `make up`)", file=sys.stderr)
        return 1
    print("\n".join(_table("search", search, args.k) + _table("chat sources", chat, args.chat_k)))
    print(summary("search", search, SEARCH_PARITY))
    print(summary("chat sources", chat, CHAT_PARITY))
    return 0


if __name__ == "__main__":
    sys.exit(main())
