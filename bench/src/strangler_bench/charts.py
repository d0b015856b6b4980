"""PNG charts for the report (matplotlib, no display needed): medians with min-max bars."""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a file backend: the bench runs without a display

import matplotlib.pyplot as plt

from strangler_bench.model import Spread

Series = dict[str, tuple[Sequence[int], Sequence[Spread]]]


def _errors(spreads: Sequence[Spread]) -> list[list[float]]:
    return [
        [max(0.0, s.median - s.lo) for s in spreads],
        [max(0.0, s.hi - s.median) for s in spreads],
    ]


def lines(path: Path, title: str, xlabel: str, ylabel: str, series: Series) -> Path:
    """Plot one line per side against concurrency, with min-max error bars."""
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    ticks: set[int] = set()
    for label, (xs, spreads) in series.items():
        ticks.update(xs)
        axes.errorbar(
            list(xs), [s.median for s in spreads], yerr=_errors(spreads),
            marker="o", capsize=3, label=label,
            linestyle="--" if label.startswith("ideal") else "-",
        )  # fmt: skip
    axes.set_xticks(sorted(ticks))
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def bars(
    path: Path, title: str, ylabel: str, labels: Sequence[str], spreads: Sequence[Spread]
) -> Path:
    """Plot one bar per label, with min-max error bars."""
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    axes.bar(list(labels), [s.median for s in spreads], yerr=_errors(spreads), capsize=4)
    axes.set(title=title, ylabel=ylabel)
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(axis="x", labelsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
