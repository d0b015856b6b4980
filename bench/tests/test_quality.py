"""The answer-quality scoring: what counts as a hit and as a relevant citation."""

import json
import tomllib
from importlib.resources import files
from pathlib import Path

from devstack import find_root
from strangler_bench.quality import Graded, Question, Score, cited_slugs, load_questions

REFUND = Question("How do I get a refund?", frozenset({"requesting-a-refund"}))
SOURCES = [
    {"id": 1, "slug": "requesting-a-refund", "title": "Requesting a refund"},
    {"id": 2, "slug": "plans-and-pricing", "title": "Plans and pricing explained"},
]


def test_each_marker_is_one_cited_passage_of_its_source() -> None:
    body = {
        "answer": "Annual plans are refunded [1]. Monthly ones [1] are not [2].",
        "sources": SOURCES,
    }
    assert cited_slugs(body) == ["requesting-a-refund", "requesting-a-refund", "plans-and-pricing"]


def test_an_answer_without_markers_cites_every_source_it_lists() -> None:
    assert cited_slugs({"answer": "See the articles.", "sources": SOURCES}) == [
        "requesting-a-refund",
        "plans-and-pricing",
    ]


def test_a_marker_past_the_sources_is_an_irrelevant_citation() -> None:
    graded = Graded(REFUND, [], cited_slugs({"answer": "Yes [1] [3].", "sources": SOURCES}))
    assert graded.relevant_citations == 1 and len(graded.cited) == 2


def test_scores_hits_by_rank_and_precision_over_all_citations() -> None:
    first = Graded(REFUND, ["requesting-a-refund", "plans-and-pricing"], ["requesting-a-refund"])
    third = Graded(
        REFUND, ["a", "b", "requesting-a-refund"], ["plans-and-pricing", "requesting-a-refund"]
    )
    missed = Graded(REFUND, ["a", "b", "c", "requesting-a-refund"], ["a"])
    score = Score("rag", [first, third, missed])
    assert (score.hit1, score.hit3) == (1 / 3, 2 / 3)
    assert score.precision == 2 / 4


def test_the_question_set_is_labelled_over_the_seeded_articles() -> None:
    seed = find_root(Path(__file__).parent) / "services/core/src/core/knowledge/seed/articles.json"
    slugs = {article["slug"] for article in json.loads(seed.read_text())}
    questions = load_questions()
    assert len(questions) >= 40
    assert any(q.text == "How do I get a refund?" for q in questions)
    assert all(q.expected and q.expected <= slugs for q in questions)
    raw = tomllib.loads(files("strangler_bench").joinpath("data/questions.toml").read_text())
    assert len({entry["text"] for entry in raw["question"]}) == len(questions)
