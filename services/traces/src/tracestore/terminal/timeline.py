"""The terminal timeline of one trace: a rich table with one row per span and a bar per row.

It is the terminal's version of the browser waterfall: rows in tree order with names indented by
depth, each span's offset and duration, and a bar that starts and ends where the span does on the
trace's time axis, in its service's color. The routing decision is printed above the table.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tracestore.palette import service_color
from tracestore.timeline import RoutingDecision, Timeline, TimelineRow
from tracestore.tree import ORPHAN_NOTE

# Left-aligned blocks from one eighth to a full cell: bars end with sub-cell precision.
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"
MIN_BAR_CELLS = 10


def bar_cells(left: float, width: float, cells: int) -> str:
    """Draw a bar from left to left + width (fractions of the axis) in a field of cells."""
    units = cells * 8
    first_cell = min(int(left * units) // 8, cells - 1)
    end = min(max(round((left + width) * units), first_cell * 8 + 1), units)
    full, rest = divmod(end - first_cell * 8, 8)
    return " " * first_cell + _FULL * full + (_EIGHTHS[rest] if rest else "")


def trace_timeline(timeline: Timeline, decision: RoutingDecision | None, bar_width: int) -> Group:
    """Build the header, the routing decision and the timeline table of one trace."""
    return Group(_header(timeline), decision_line(decision), timeline_table(timeline, bar_width))


def decision_line(decision: RoutingDecision | None) -> Text:
    """Describe the gateway's routing decision in one line."""
    if decision is None:
        missing = "routing: none recorded (no gateway span, no migration.* attributes)"
        return Text(missing, style="dim")
    fallback = _yes_no(decision.fallback)
    bucket = "-" if decision.bucket is None else str(decision.bucket)
    line = Text("routing: ", style="bold")
    for name, value in (
        ("route", decision.route),
        ("mode", decision.mode),
        ("target", decision.target),
        ("bucket", bucket),
        ("fallback", fallback),
    ):
        line.append(f"{name} ", style="dim")
        line.append(value or "-", style="bold yellow" if value == "yes" else "bold")
        line.append("  ")
    line.append(f"(from the {decision.service} span)", style="dim")
    return line


def timeline_table(timeline: Timeline, bar_width: int) -> Table:
    """Build the table: service, span, start offset, duration and the bar on the time axis."""
    width = max(bar_width, MIN_BAR_CELLS)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("service", no_wrap=True)
    table.add_column("span", overflow="fold", min_width=16)
    table.add_column("start ms", justify="right", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column(_axis_label(timeline, width), no_wrap=True, width=width, min_width=width)
    for row in timeline.rows:
        color = service_color(row.span.service_name)
        table.add_row(
            Text(row.span.service_name, style=f"bold {color}"),
            _span_label(row),
            f"{row.offset_ms:.2f}",
            f"{row.span.duration_ms:.2f}",
            Text(bar_cells(row.left, row.width, width), style=color),
        )
    return table


def _yes_no(value: object) -> str:
    if value is True:
        return "yes"
    return "no" if value is False else "-"


def _header(timeline: Timeline) -> Text:
    return Text.assemble(
        ("trace ", "bold"),
        (timeline.trace_id, "bold cyan"),
        f"  {len(timeline.rows)} spans, {len(timeline.services)} services, "
        f"{timeline.duration_ms:.2f} ms",
    )


def _span_label(row: TimelineRow) -> Text:
    label = Text("  " * row.depth + row.span.name)
    if row.span.status.code == "ERROR":
        label.append("  ERROR", style="bold red")
        if row.span.status.message:
            label.append(f": {row.span.status.message}", style="red")
    if row.orphan:
        label.append(f"  {ORPHAN_NOTE}", style="yellow")
    return label


def _axis_label(timeline: Timeline, width: int) -> str:
    """Label the bar column with its scale: 0 on the left, the trace's duration on the right."""
    end = f"{timeline.duration_ms:.2f} ms"
    gap = max(width - len(end) - 1, 1)
    return "0" + " " * gap + end
