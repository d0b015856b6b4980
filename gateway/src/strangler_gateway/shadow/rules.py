"""The comparison rules: when is the new service's answer as good as the monolith's?

Exact equality is the wrong question for most routes: a timestamp, a request id or a float score
differs on every call, and a new search engine may rank the same articles differently. So, in the
manner of Diffy, legacy is asked twice and any path whose value differs between its own two answers
is noise, ignored for that comparison; the route's ``ignore`` paths are never compared; and the
``search`` and ``chat`` rules compare their result lists by the overlap of their ids, in any
order.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from strangler_gateway.routetable import Compare
from strangler_gateway.shadow._documents import Answer, differing_paths, is_under, pattern_of
from strangler_gateway.shadow.models import MISSING, Outcome, PathDiff

__all__ = ["DEFAULT_MIN_OVERLAP", "MAX_DIFFS", "Verdict", "compare_answers", "overlap"]

# The share of legacy's result ids the new answer must also return (overlap@k).
DEFAULT_MIN_OVERLAP = 0.6
# A diff keeps this many paths: enough to see the pattern, small enough to store every one.
MAX_DIFFS = 20


@dataclass(frozen=True)
class Verdict:
    """What a rule concluded about one legacy/new pair."""

    outcome: Outcome
    diffs: tuple[PathDiff, ...] = ()
    noise: tuple[str, ...] = ()
    overlap: float | None = None


@dataclass(frozen=True)
class _ListRule:
    """A rule comparing the list under ``key`` by ids, and ``exempt`` fields not at all."""

    key: str
    exempt: tuple[str, ...] = ()


_LIST_RULES = {
    Compare.SEARCH: _ListRule("results"),
    # Two implementations never word an answer the same; the cited sources are what must agree.
    Compare.CHAT: _ListRule("sources", exempt=("answer",)),
}


def compare_answers(
    rule: Compare,
    legacy: Answer,
    legacy_again: Answer,
    new: Answer,
    *,
    ignore: Iterable[str] = (),
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> Verdict:
    """Compare ``new`` with ``legacy`` under ``rule``, ignoring what legacy itself varies."""
    ignore = tuple(ignore)
    first, second, candidate = legacy.flat(), legacy_again.flat(), new.flat()
    noisy = {path for path in differing_paths(first, second) if not is_under(path, ignore)}
    skip, score, overlap_diff = _list_comparison(rule, legacy, legacy_again, new, min_overlap)
    diffs = [
        PathDiff(path, first.get(path, MISSING), candidate.get(path, MISSING))
        for path in differing_paths(first, candidate)
        if path not in noisy and not is_under(path, (*ignore, *skip))
    ]
    if overlap_diff is not None:
        diffs.insert(0, overlap_diff)
    return Verdict(
        outcome=Outcome.DIFF if diffs else Outcome.MATCH,
        diffs=tuple(diffs[:MAX_DIFFS]),
        noise=tuple(sorted({pattern_of(path) for path in noisy})),
        overlap=score,
    )


def _list_comparison(
    rule: Compare, legacy: Answer, legacy_again: Answer, new: Answer, min_overlap: float
) -> tuple[tuple[str, ...], float | None, PathDiff | None]:
    """Return the paths the list rule takes over, its overlap score and its diff, if any."""
    list_rule = _LIST_RULES.get(rule)
    if list_rule is None:
        return (), None, None
    legacy_ids = _ids(legacy.document(), list_rule.key)
    new_ids = _ids(new.document(), list_rule.key)
    if legacy_ids is None or new_ids is None:
        # An error envelope on either side: nothing to overlap, compare it exactly.
        return (), None, None
    score = overlap(legacy_ids, new_ids)
    again_ids = _ids(legacy_again.document(), list_rule.key)
    if again_ids is not None:
        # Legacy's own second ranking is as valid an answer as its first.
        score = max(score, overlap(again_ids, new_ids))
    skip = (list_rule.key, *list_rule.exempt)
    if score >= min_overlap:
        return skip, score, None
    return skip, score, PathDiff(f"{list_rule.key}[].id", legacy_ids, new_ids)


def _ids(document: Any, key: str) -> list[Any] | None:
    """Return the ids of the items listed under ``key``, or None when there is no such list."""
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        return None
    return [
        item["id"] if isinstance(item, dict) and "id" in item else item for item in document[key]
    ]


def overlap(legacy_ids: Sequence[Any], new_ids: Sequence[Any]) -> float:
    """Return overlap@k of two id lists: shared ids over the longer list's length, order ignored."""
    left, right = _keys(legacy_ids), _keys(new_ids)
    if not left and not right:
        return 1.0
    return len(left & right) / max(len(left), len(right))


def _keys(ids: Sequence[Any]) -> set[str]:
    # Ids are usually ints, but any JSON value can serve; JSON text makes every one hashable.
    return {json.dumps(item, sort_keys=True) for item in ids}
