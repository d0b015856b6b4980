"""Answer quality: does each side find and cite the right articles for the labelled questions?

A migration pays only if the new side answers at least as well as the old one, so both sides get
the same questions (data/questions.toml, each labelled with the articles that answer it) over
their public JSON API. Retrieval is scored from ``GET /api/search`` (hit@1, hit@3: an expected
article is first, or among the first three); answers from ``POST /api/chat`` (citation precision:
the share of cited passages, the ``[n]`` markers of the answer, that point at an expected
article; an answer without markers counts every source it lists as cited).

    uv run python -m strangler_bench.quality --legacy http://127.0.0.1:8000 --new http://127.0.0.1:8001
"""

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import httpx

_MARKER = re.compile(r"\[(\d+)\]")

# The goals: rag finds an expected article in its top three for 90 % of the questions,
# 90 % of what it cites is relevant, and it is never worse than legacy on either.
GOAL_HIT3 = 0.9
GOAL_PRECISION = 0.9


@dataclass(frozen=True)
class Question:
    """A question and the slugs of the articles that answer it."""

    text: str
    expected: frozenset[str]


@dataclass(frozen=True)
class Graded:
    """What one side answered to one question."""

    question: Question
    ranked: list[str]
    cited: list[str]

    def hit(self, k: int) -> bool:
        """Return whether an expected article is among the first ``k`` results."""
        return bool(self.question.expected & set(self.ranked[:k]))

    @property
    def relevant_citations(self) -> int:
        """Return how many cited passages point at an expected article."""
        return sum(slug in self.question.expected for slug in self.cited)


@dataclass(frozen=True)
class Score:
    """One side's totals over the question set."""

    side: str
    graded: list[Graded]

    @property
    def hit1(self) -> float:
        return sum(g.hit(1) for g in self.graded) / len(self.graded)

    @property
    def hit3(self) -> float:
        return sum(g.hit(3) for g in self.graded) / len(self.graded)

    @property
    def precision(self) -> float:
        cited = sum(len(g.cited) for g in self.graded)
        return sum(g.relevant_citations for g in self.graded) / cited if cited else 0.0

    @property
    def citations_per_answer(self) -> float:
        return sum(len(g.cited) for g in self.graded) / len(self.graded)


def load_questions() -> list[Question]:
    """Read the labelled question set shipped with the package."""
    text = files("strangler_bench").joinpath("data/questions.toml").read_text()
    return [
        Question(entry["text"], frozenset(entry["expected"]))
        for entry in tomllib.loads(text)["question"]
    ]


def cited_slugs(body: dict[str, Any]) -> list[str]:
    """Return the slug of every cited passage of a chat answer, in order of citation."""
    sources = [source["slug"] for source in body["sources"]]
    markers = [int(n) for n in _MARKER.findall(body["answer"])]
    if not markers:
        return sources
    # A marker past the sources list cites nothing real: it counts as an irrelevant citation.
    return [sources[n - 1] if 1 <= n <= len(sources) else "" for n in markers]


def grade(client: httpx.Client, base_url: str, question: Question) -> Graded:
    """Ask one side one question through search and chat."""
    search = client.get(f"{base_url}/api/search", params={"q": question.text, "k": 3})
    search.raise_for_status()
    chat = client.post(f"{base_url}/api/chat", json={"question": question.text})
    chat.raise_for_status()
    ranked = [result["slug"] for result in search.json()["results"]]
    return Graded(question, ranked, cited_slugs(chat.json()))


def evaluate(base_url: str, side: str, questions: list[Question]) -> Score:
    """Score one side over every question."""
    with httpx.Client(timeout=60, headers={"Accept": "application/json"}) as client:
        return Score(side, [grade(client, base_url, q) for q in questions])


def goals(legacy: Score, new: Score) -> list[tuple[str, bool, str]]:
    """Return the answer-quality goals as (goal, met, measured) rows."""
    return [
        (f"rag hit@3 >= {GOAL_HIT3}", new.hit3 >= GOAL_HIT3, f"{new.hit3:.2f}"),
        (
            f"rag citation precision >= {GOAL_PRECISION}",
            new.precision >= GOAL_PRECISION,
            f"{new.precision:.2f}",
        ),
        (
            "rag hit@1/hit@3 never below legacy",
            new.hit1 >= legacy.hit1 and new.hit3 >= legacy.hit3,
            f"{new.hit1:.2f}/{new.hit3:.2f} vs {legacy.hit1:.2f}/{legacy.hit3:.2f}",
        ),
        (
            "rag citation precision never below legacy",
            new.precision >= legacy.precision,
            f"{new.precision:.2f} vs {legacy.precision:.2f}",
        ),
    ]


HEADERS = ["side", "questions", "hit@1", "hit@3", "citation precision", "cited/answer"]


def rows(scores: list[Score]) -> list[list[str]]:
    """Return one table row per side."""
    return [
        [
            s.side,
            str(len(s.graded)),
            f"{s.hit1:.2f}",
            f"{s.hit3:.2f}",
            f"{s.precision:.2f}",
            f"{s.citations_per_answer:.1f}",
        ]
        for s in scores
    ]


def table(scores: list[Score]) -> list[str]:
    """Return the side-by-side table as markdown lines."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|---" * len(HEADERS) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows(scores)]


def misses(score: Score) -> list[str]:
    """Return one line per question the side did not find in its top three."""
    return [
        f"- {score.side}: {g.question.text!r} expected {sorted(g.question.expected)}, "
        f"got {g.ranked}"
        for g in score.graded
        if not g.hit(3)
    ]


def main(argv: list[str] | None = None) -> int:
    """Print both sides' answer-quality table and goals."""
    parser = argparse.ArgumentParser(prog="python -m strangler_bench.quality", description=__doc__)
    parser.add_argument("--legacy", default="http://127.0.0.1:8000", help="core's base URL")
    parser.add_argument("--new", default="http://127.0.0.1:8001", help="rag's base URL")
    args = parser.parse_args(argv)
    questions = load_questions()
    try:
        scores = [evaluate(args.legacy, "legacy", questions), evaluate(args.new, "rag", questions)]
    except httpx.HTTPError as error:
        print(f"cannot evaluate: {error} (is the stack running?)", file=sys.stderr)
        return 1
    print("\n".join(table(scores)))
    for goal, met, measured in goals(*scores):
        print(f"{'met   ' if met else 'MISSED'} {goal}: {measured}")
    print("\n".join(misses(scores[0]) + misses(scores[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
