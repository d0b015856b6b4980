"""How the report renders a figure measured over repeats, and judges a goal on it."""

import pytest
from strangler_bench.model import Goal, Spread


def test_a_figure_renders_its_median_and_spread() -> None:
    assert Spread.of([0.9, 0.95, 1.0]).pct() == "95 % (90-100)"
    assert Spread.of([2.0, 2.0]).fmt(1, suffix="x") == "2.0x"


def test_a_figure_with_no_run_renders_as_a_dash_not_nan() -> None:
    # The matched-threads side runs from 200 concurrent only: at 50 its ratios have no run.
    assert Spread.of([]).fmt(1, suffix="x") == "-"
    assert Spread.of([]).pct() == "-"


def test_a_goal_is_judged_on_its_median_and_counts_the_repeats_that_met_it_alone() -> None:
    # The gateway's share of core's direct rps over seven repeats (the run of 2026-12-06 15:18
    # UTC read 80 % (70-94), just under the line).
    share = Spread.of([0.81, 0.79, 0.78, 0.86, 0.75, 0.94, 0.70])

    goal = Goal.judged("gateway >= 80 % of direct rps", share.pct(), lambda x: x >= 0.8, share)

    assert (goal.met, goal.repeats, goal.measured) == (False, (3, 7), "79 % (70-94)")


def test_a_goal_on_several_figures_pairs_them_by_repeat() -> None:
    # Core's hop, linear in concurrency: the added p50 at 20 clients against 20 times the one at
    # 1, repeat by repeat (the medians, 1.5 and 28.0 ms, meet it; the third repeat alone does not).
    one, twenty = Spread.of([1.5, 3.0, 1.0]), Spread.of([28.0, 31.0, 25.0])

    goal = Goal.judged("linear", twenty.fmt(2), lambda a, b: b <= 20 * a, one, twenty)

    assert (goal.met, goal.repeats) == (True, (2, 3))
    # The values it was judged on, figure by figure, for the results file.
    assert goal.figures == ((1.5, 3.0, 1.0), (28.0, 31.0, 25.0))
    with pytest.raises(ValueError):
        Goal.judged("linear", "", lambda a, b: b <= 20 * a, one, Spread.of([28.0, 31.0]))


def test_a_goal_judged_on_more_than_its_medians_keeps_the_verdict_it_is_given() -> None:
    # Zero errors means none in any repeat, though the median repeat had none.
    p99, errors = Spread.of([1010.0, 1300.0, 1020.0]), Spread.of([0.0, 0.0, 2.0])

    goal = Goal.judged(
        "p99 <= 1.2 x provider, zero errors", "p99 1020 ms, 2 errors",
        lambda p, e: p <= 1200 and e == 0, p99, errors, met=sum(errors.values) == 0,
    )  # fmt: skip

    assert (goal.met, goal.repeats) == (False, (1, 3))
