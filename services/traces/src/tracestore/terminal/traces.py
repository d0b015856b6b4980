"""Terminal views of stored traces: the recent-traces table and one trace's span tree.

Kept apart from the command line so the views can be printed to any rich Console (a recording one
in tests, a pager, another tool) and so the CLI stays argument handling only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich import box
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tracestore.models import JSONValue, SpanRecord, TraceSummary
from tracestore.tree import ORPHAN_NOTE, SpanNode, walk

# What a reader needs to place a span in the request's journey; the rest is in the JSON API.
KEY_ATTRIBUTES = (
    "http.request.method",
    "http.method",
    "http.route",
    "url.path",
    "http.target",
    "url.full",
    "http.url",
    "http.response.status_code",
    "http.status_code",
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "rpc.grpc.status_code",
    "db.system",
    "db.statement",
    "db.query.text",
    "server.address",
    "server.port",
    "error.type",
)
# The project's own attributes (the gateway's routing decision, ...) are always worth showing.
KEY_ATTRIBUTE_PREFIXES = ("migration.", "strangler.")
MAX_VALUE_CHARS = 120
_STATUS_STYLES = {"OK": "green", "ERROR": "bold red"}


def format_start(unix_nano: int) -> str:
    """Format a span timestamp as local month-day and wall-clock time."""
    return datetime.fromtimestamp(unix_nano / 1e9).astimezone().strftime("%m-%d %H:%M:%S")


def traces_table(summaries: Sequence[TraceSummary]) -> Table:
    """Build the table of recent traces: id, root span, services, spans, duration, start."""
    table = Table(
        title="Recent traces",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    # On a narrow terminal the id folds onto two lines rather than losing digits to an ellipsis.
    table.add_column("trace id", overflow="fold", min_width=16)
    table.add_column("root span", overflow="fold", min_width=14)
    table.add_column("services", min_width=8)
    table.add_column("spans", justify="right", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("start time", no_wrap=True, min_width=14)
    for summary in summaries:
        root = Text(f"{summary.root_service}: {summary.root_name}")
        if summary.error:
            root.append(" (error)", style="bold red")
        table.add_row(
            summary.trace_id,
            root,
            ", ".join(sorted(summary.services)),
            str(summary.span_count),
            f"{summary.duration_ms:.2f}",
            format_start(summary.start_unix_nano),
        )
    return table


def trace_tree(trace_id: str, roots: Sequence[SpanNode]) -> Tree:
    """Build the indented span tree of one trace, one node per span."""
    nodes = [node for _, node in walk(roots)]
    services = {node.span.service_name for node in nodes}
    start = min((node.span.start_unix_nano for node in nodes), default=0)
    end = max((node.span.end_unix_nano for node in nodes), default=0)
    header = Text.assemble(
        ("trace ", "bold"),
        (trace_id, "bold cyan"),
        f"  {len(nodes)} spans, {len(services)} services, {max(end - start, 0) / 1e6:.2f} ms",
    )
    tree = Tree(header)
    for root in roots:
        _add_node(tree, root)
    return tree


def _add_node(parent: Tree, node: SpanNode) -> None:
    branch = parent.add(span_label(node.span, orphan=node.orphan))
    for child in node.children:
        _add_node(branch, child)


def span_label(span: SpanRecord, *, orphan: bool = False) -> Text:
    """Describe a span: service, name, kind, duration and status, then its key attributes."""
    label = Text.assemble(
        (span.service_name, "bold magenta"),
        "  ",
        (span.name, "bold"),
        (f"  [{span.kind}]", "dim"),
        f"  {span.duration_ms:.2f} ms",
    )
    # UNSET is the usual case; only an explicit outcome is worth a word.
    if span.status.code != "UNSET":
        label.append(f"  {span.status.code}", style=_STATUS_STYLES.get(span.status.code, ""))
    if span.status.message:
        label.append(f": {span.status.message}", style=_STATUS_STYLES.get(span.status.code, ""))
    if orphan:
        label.append(f"  {ORPHAN_NOTE}", style="yellow")
    for line in key_attribute_lines(span):
        label.append("\n" + line, style="dim")
    return label


def key_attribute_lines(span: SpanRecord) -> list[str]:
    """Return one "key = value" line per key attribute, then one per recorded exception."""
    keys = [key for key in KEY_ATTRIBUTES if key in span.attributes]
    keys += sorted(key for key in span.attributes if key.startswith(KEY_ATTRIBUTE_PREFIXES))
    lines = [f"{key} = {_short(span.attributes[key])}" for key in keys]
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "exception")
            message = event.attributes.get("exception.message", "")
            lines.append(f"exception = {_short(f'{kind}: {message}')}")
    return lines


def _short(value: JSONValue) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
