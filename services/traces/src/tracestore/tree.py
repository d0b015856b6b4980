"""Build the parent/child tree of one trace, for the terminal view and the browser waterfall.

Spans of one trace come from several processes at different moments, so a parent can be missing
(still in flight, lost, or from a service that does not export). Such spans become roots marked
"(parent not received)" instead of vanishing from the view.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tracestore.models import SpanRecord

ORPHAN_NOTE = "(parent not received)"


@dataclass(slots=True)
class SpanNode:
    """A span with its children; orphan means it names a parent that is not in the store."""

    span: SpanRecord
    children: list[SpanNode] = field(default_factory=list)
    orphan: bool = False


def build_tree(spans: Iterable[SpanRecord]) -> list[SpanNode]:
    """Return the root nodes of a trace; roots and every list of children sorted by start time."""
    nodes = {span.span_id: SpanNode(span) for span in sorted(spans, key=_start_key)}
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent_id = node.span.parent_span_id
        parent = nodes.get(parent_id) if parent_id else None
        if parent is None:
            node.orphan = parent_id is not None
            roots.append(node)
        else:
            parent.children.append(node)
    roots.extend(_cut_cycles(nodes, roots))
    roots.sort(key=lambda node: _start_key(node.span))
    return roots


def walk(roots: Iterable[SpanNode], depth: int = 0) -> Iterator[tuple[int, SpanNode]]:
    """Yield (depth, node) for every node, depth first, in display order."""
    for node in roots:
        yield depth, node
        yield from walk(node.children, depth + 1)


def _start_key(span: SpanRecord) -> tuple[int, str]:
    return span.start_unix_nano, span.span_id


def _cut_cycles(nodes: dict[str, SpanNode], roots: list[SpanNode]) -> list[SpanNode]:
    """Detach spans caught in a parent cycle (bad ids from a client) and return them as roots."""
    reached = {node.span.span_id for _, node in walk(roots)}
    cut: list[SpanNode] = []
    for span_id, node in nodes.items():
        if span_id in reached:
            continue
        parent_id = node.span.parent_span_id
        if parent_id is not None:
            nodes[parent_id].children.remove(node)
        node.orphan = True
        cut.append(node)
        reached.update(child.span.span_id for _, child in walk([node]))
    return cut
