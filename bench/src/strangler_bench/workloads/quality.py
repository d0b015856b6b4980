"""Workload 0: answer quality, legacy and rag side by side, with their default providers."""

from strangler_bench import quality
from strangler_bench.context import Bench
from strangler_bench.model import Goal, Section

EXTRACTIVE_CORE = {"CORE_CHAT_PROVIDER": "extractive"}
EXTRACTIVE_RAG = {"RAG_PROVIDER": "extractive"}


def run(bench: Bench) -> Section:
    """Ask both sides every labelled question; score retrieval and citations."""
    section = Section(
        "quality",
        "Answer quality",
        "Both sides answer the labelled questions (data/questions.toml) with their default "
        "(extractive) provider, over their own JSON API: `GET /api/search?k=3` for retrieval "
        "hit@1 and hit@3, `POST /api/chat` for citation precision (the share of cited passages, "
        "the answer's `[n]` markers, that point at an expected article).",
    )
    core = bench.keep(bench.launch.core("quality-core", workers=1, threads=4, env=EXTRACTIVE_CORE))
    rag = bench.keep(bench.launch.rag("quality-rag", EXTRACTIVE_RAG))
    questions = quality.load_questions()
    try:
        scores = [quality.evaluate(core.url, "legacy", questions)]
        scores.append(quality.evaluate(rag.url, "rag", questions))
    finally:
        bench.drop(core)
        bench.drop(rag)
    table = section.table(f"{len(questions)} labelled questions", *quality.HEADERS)
    table.rows = quality.rows(scores)
    section.goals = [Goal(*goal) for goal in quality.goals(*scores)]
    section.notes = quality.misses(scores[0]) + quality.misses(scores[1])
    return section
