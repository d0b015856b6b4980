"""How the report renders a figure measured over repeats."""

from strangler_bench.model import Spread


def test_a_figure_renders_its_median_and_spread() -> None:
    assert Spread.of([0.9, 0.95, 1.0]).pct() == "95 % (90-100)"
    assert Spread.of([2.0, 2.0]).fmt(1, suffix="x") == "2.0x"


def test_a_figure_with_no_run_renders_as_a_dash_not_nan() -> None:
    # The matched-threads side runs from 200 concurrent only: at 50 its ratios have no run.
    assert Spread.of([]).fmt(1, suffix="x") == "-"
    assert Spread.of([]).pct() == "-"
