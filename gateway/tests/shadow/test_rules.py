"""The comparison rules: ignore paths, ordered and unordered lists, overlap, noise cancelling."""

import itertools
import json
from typing import Any

import pytest
from strangler_gateway.shadow import Compare, Outcome, PathDiff, compare_answers
from strangler_gateway.shadow._documents import Answer, flatten, is_under, pattern_of
from strangler_gateway.shadow.models import MISSING
from strangler_gateway.shadow.rules import overlap


def _answer(body: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(body).encode(), "application/json")


def _compare(rule: Compare, legacy: Any, new: Any, **options: Any) -> Any:
    return compare_answers(rule, _answer(legacy), _answer(legacy), _answer(new), **options)


def _search(ids: list[int], **extra: Any) -> dict[str, Any]:
    results = [
        {"id": i, "slug": f"a{i}", "title": f"A{i}", "score": 1.0 / (n + 1)}
        for n, i in enumerate(ids)
    ]
    return {"query": "card", "k": 5, "results": results, **extra}


def test_flatten_names_paths_like_the_route_table() -> None:
    flat = flatten({"k": 5, "billing": {"currency": "eur"}, "results": [{"id": 1}], "tags": []})
    assert flat == {"k": 5, "billing.currency": "eur", "results[0].id": 1, "tags": []}
    assert pattern_of("results[12].snippet") == "results[].snippet"
    assert is_under("results[3].score", ["results[].score"])
    assert is_under("billing.currency", ["billing"])
    assert not is_under("billing_note", ["billing"])


def test_identical_answers_match_under_the_json_rule() -> None:
    verdict = _compare(Compare.JSON, _search([1, 2]), _search([1, 2]))
    assert verdict.outcome is Outcome.MATCH
    assert verdict.diffs == () and verdict.noise == () and verdict.overlap is None


def test_json_rule_reports_each_differing_path_with_both_values() -> None:
    legacy = {"id": 7, "plan": "pro", "billing": {"balance_cents": 0}}
    new = {"id": 7, "plan": "team", "billing": {}}
    verdict = _compare(Compare.JSON, legacy, new)
    assert verdict.outcome is Outcome.DIFF
    assert verdict.diffs == (
        PathDiff("plan", "pro", "team"),
        PathDiff("billing.balance_cents", 0, MISSING),
        PathDiff("billing", MISSING, {}),
    )
    assert verdict.diffs[1].to_json() == {"path": "billing.balance_cents", "legacy": 0}


def test_json_rule_skips_ignore_paths_with_any_list_index() -> None:
    legacy = _search([1, 2], took_ms=3)
    new = _search([1, 2], took_ms=9)
    new["results"][1]["score"] = 0.01
    assert _compare(Compare.JSON, legacy, new).outcome is Outcome.DIFF
    verdict = _compare(Compare.JSON, legacy, new, ignore=["results[].score", "took_ms"])
    assert verdict.outcome is Outcome.MATCH


def test_json_rule_keeps_list_order_but_search_ignores_it() -> None:
    legacy, new = _search([1, 2, 3]), _search([3, 1, 2])
    ignore = ["results[].score"]
    assert _compare(Compare.JSON, legacy, new, ignore=ignore).outcome is Outcome.DIFF
    verdict = _compare(Compare.SEARCH, legacy, new, ignore=ignore)
    assert verdict.outcome is Outcome.MATCH
    assert verdict.overlap == 1.0


def test_numbers_compare_by_value_but_booleans_are_not_numbers() -> None:
    assert _compare(Compare.JSON, {"score": 1}, {"score": 1.0}).outcome is Outcome.MATCH
    assert _compare(Compare.JSON, {"flag": True}, {"flag": 1}).outcome is Outcome.DIFF
    assert _compare(Compare.JSON, {"v": None}, {"v": 0}).outcome is Outcome.DIFF


@pytest.mark.parametrize(
    ("new_ids", "outcome", "score"),
    [
        ([1, 2, 3, 4, 5], Outcome.MATCH, 1.0),
        ([5, 4, 3, 2, 1], Outcome.MATCH, 1.0),
        ([1, 2, 3, 8, 9], Outcome.MATCH, 0.6),
        ([1, 2, 7, 8, 9], Outcome.DIFF, 0.4),
        ([], Outcome.DIFF, 0.0),
    ],
)
def test_search_rule_needs_top_k_overlap_of_result_ids(
    new_ids: list[int], outcome: Outcome, score: float
) -> None:
    verdict = _compare(Compare.SEARCH, _search([1, 2, 3, 4, 5]), _search(new_ids))
    assert verdict.outcome is outcome
    assert verdict.overlap == pytest.approx(score)
    if outcome is Outcome.DIFF:
        assert verdict.diffs[0] == PathDiff("results[].id", [1, 2, 3, 4, 5], new_ids)


def test_search_rule_still_compares_the_other_fields_exactly() -> None:
    verdict = _compare(Compare.SEARCH, _search([1, 2]), {**_search([1, 2]), "k": 4})
    assert verdict.outcome is Outcome.DIFF
    assert [diff.path for diff in verdict.diffs] == ["k"]


def test_search_rule_compares_error_envelopes_exactly() -> None:
    envelope = {"error": {"code": "validation_error", "message": "k must be 1..50"}}
    same = compare_answers(
        Compare.SEARCH, _answer(envelope, 422), _answer(envelope, 422), _answer(envelope, 422)
    )
    assert same.outcome is Outcome.MATCH and same.overlap is None
    other = {"error": {"code": "bad_request", "message": "k must be 1..50"}}
    verdict = compare_answers(
        Compare.SEARCH, _answer(envelope, 422), _answer(envelope, 422), _answer(other, 400)
    )
    assert [diff.path for diff in verdict.diffs] == ["(status)", "error.code"]


def test_chat_rule_compares_sources_not_the_wording() -> None:
    def chat(answer: str, ids: list[int]) -> dict[str, Any]:
        sources = [{"id": i, "slug": f"a{i}", "title": "t"} for i in ids]
        return {"answer": answer, "sources": sources}

    legacy = chat("Reset the card [1]. Then retry [2].", [4, 9])
    agreeing = compare_answers(
        Compare.CHAT,
        _answer(legacy),
        _answer(legacy),
        _answer(chat("Retry [2] after [1].", [9, 4])),
    )
    assert agreeing.outcome is Outcome.MATCH and agreeing.overlap == 1.0
    verdict = _compare(Compare.CHAT, legacy, chat("Reset the card [1].", [5, 6]))
    assert verdict.outcome is Outcome.DIFF and verdict.overlap == 0.0
    assert verdict.diffs[0].path == "sources[].id"


def test_noise_between_legacy_answers_is_ignored_and_reported() -> None:
    counter = itertools.count()

    def legacy_answer() -> Answer:
        # A legacy that stamps every answer with something new: never a stable value.
        n = next(counter)
        return _answer({"id": 1, "nonce": f"n-{n}", "items": [{"at": n}], "plan": "pro"})

    new = _answer({"id": 1, "nonce": "other", "items": [{"at": 99}], "plan": "pro"})
    verdict = compare_answers(Compare.JSON, legacy_answer(), legacy_answer(), new)
    assert verdict.outcome is Outcome.MATCH
    assert verdict.noise == ("items[].at", "nonce")

    changed = _answer({"id": 1, "nonce": "other", "items": [{"at": 99}], "plan": "free"})
    verdict = compare_answers(Compare.JSON, legacy_answer(), legacy_answer(), changed)
    assert verdict.outcome is Outcome.DIFF
    assert [diff.path for diff in verdict.diffs] == ["plan"]


def test_ignored_paths_are_not_counted_as_noise() -> None:
    verdict = compare_answers(
        Compare.JSON, _answer({"t": 1}), _answer({"t": 2}), _answer({"t": 3}), ignore=["t"]
    )
    assert verdict.outcome is Outcome.MATCH and verdict.noise == ()


def test_status_codes_are_compared() -> None:
    verdict = compare_answers(Compare.JSON, _answer({}, 200), _answer({}, 200), _answer({}, 404))
    assert verdict.diffs == (PathDiff("(status)", 200, 404),)


def test_bodies_that_are_not_json_compare_as_bytes() -> None:
    def page(text: bytes) -> Answer:
        return Answer(200, text, "text/html")

    same = compare_answers(Compare.JSON, page(b"<p>hi"), page(b"<p>hi"), page(b"<p>hi"))
    assert same.outcome is Outcome.MATCH
    verdict = compare_answers(Compare.JSON, page(b"<p>hi"), page(b"<p>hi"), page(b"<p>ho"))
    assert verdict.diffs == (PathDiff("(body)", "<p>hi", "<p>ho"),)
    json_vs_text = compare_answers(Compare.JSON, _answer("hi"), _answer("hi"), page(b'"hi"'))
    assert json_vs_text.outcome is Outcome.DIFF


def test_stored_values_are_truncated() -> None:
    stored = PathDiff("answer", "x" * 1000, MISSING).to_json()
    assert stored["path"] == "answer" and "new" not in stored
    assert len(stored["legacy"]) < 210 and stored["legacy"].endswith("…")


def test_overlap_is_shared_ids_over_the_longer_list() -> None:
    assert overlap([], []) == 1.0
    assert overlap([1, 2, 3, 4], [4, 3]) == 0.5
    assert overlap(["a", {"k": 1}], [{"k": 1}]) == 0.5
