"""What every workload hands to the report: figures with their spread, tables, goals, charts."""

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from strangler_bench.calibration import Reading
from strangler_bench.others import Others

NOT_MEASURED = "-"
"""A table cell with no run behind it (a side that does not apply at that level)."""


@dataclass(frozen=True)
class Spread:
    """One figure measured over repeated runs: its median and its min-max."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        """Collect the repeats of one figure."""
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def lo(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def hi(self) -> float:
        return max(self.values) if self.values else float("nan")

    def fmt(self, digits: int = 1, scale: float = 1.0, suffix: str = "") -> str:
        """Render as ``median (min-max)`` (just the median when every run agrees; ``-`` unrun)."""
        if not self.values:
            return NOT_MEASURED
        med, lo, hi = (v * scale for v in (self.median, self.lo, self.hi))
        if len(self.values) < 2 or f"{lo:.{digits}f}" == f"{hi:.{digits}f}":
            return f"{med:.{digits}f}{suffix}"
        return f"{med:.{digits}f}{suffix} ({lo:.{digits}f}-{hi:.{digits}f})"

    def pct(self) -> str:
        """Render a ratio as a percentage with its spread."""
        return self.fmt(0, 100, " %")


@dataclass(frozen=True)
class Goal:
    """One of the issue's goals and whether this run met it."""

    name: str
    met: bool
    measured: str
    repeats: tuple[int, int] | None = None
    """How many repeats met the goal on their own figures, of how many: a miss that some repeats
    met sits near its line. None for a goal on one reading."""
    figures: tuple[tuple[float, ...], ...] = ()
    """Each figure the goal was judged on, its value in each repeat (ratios as fractions, times in
    the goal's unit): what ``results.json`` gives programs. Empty for a goal on one reading."""

    @classmethod
    def judged(
        cls,
        name: str,
        measured: str,
        meets: Callable[..., bool],
        *figures: Spread,
        met: bool | None = None,
    ) -> "Goal":
        """Judge a goal on its figures' medians, or take ``met`` where more than the medians
        decide (zero errors: in any repeat), and count the repeats that met it alone: ``meets``
        takes one value of each figure, the figures' values paired by repeat."""
        repeats = list(zip(*(figure.values for figure in figures), strict=True))
        if met is None:
            met = meets(*(figure.median for figure in figures))
        met_alone = sum(bool(meets(*r)) for r in repeats)
        values = tuple(figure.values for figure in figures)
        return cls(name, bool(met), measured, (met_alone, len(repeats)), values)


@dataclass
class Table:
    """A markdown table."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row."""
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> list[str]:
        """Return the table as markdown lines."""
        lines = ["| " + " | ".join(self.headers) + " |"]
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        return lines + ["| " + " | ".join(row) + " |" for row in self.rows]


@dataclass
class Section:
    """One workload's part of the report."""

    key: str
    title: str
    about: str
    tables: list[tuple[str, Table]] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    speed: Reading | None = None
    """The machine's yardstick just before the workload ran (``calibration``); None if unread."""
    others: Others | None = None
    """What the processes outside the bench used while the workload ran; None if unread."""
    failed: bool = False
    """The workload did not finish: its one goal says so, and its notes carry the error."""

    def table(self, caption: str, *headers: str) -> Table:
        """Start a new table under ``caption``."""
        table = Table(list(headers))
        self.tables.append((caption, table))
        return table
