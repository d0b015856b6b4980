"""Building the parent/child tree of a trace, including spans whose parent never arrived."""

from __future__ import annotations

from typing import Any

from tracestore.tree import build_tree, walk

TRACE = "d" * 32


def _names(nodes: Any) -> list[tuple[int, str, bool]]:
    return [(depth, node.span.name, node.orphan) for depth, node in walk(nodes)]


def test_children_nest_under_parents_sorted_by_start(make_span: Any) -> None:
    spans = [
        make_span(
            TRACE,
            "0000000000000003",
            "0000000000000001",
            name="second",
            service="rag",
            start_ms=20,
            end_ms=30,
        ),
        make_span(
            TRACE, "0000000000000001", None, name="root", service="core", start_ms=0, end_ms=50
        ),
        make_span(
            TRACE,
            "0000000000000002",
            "0000000000000001",
            name="first",
            service="rag",
            start_ms=10,
            end_ms=15,
        ),
        make_span(
            TRACE,
            "0000000000000004",
            "0000000000000002",
            name="grpc",
            service="core",
            start_ms=11,
            end_ms=14,
        ),
    ]

    roots = build_tree(spans)

    assert _names(roots) == [
        (0, "root", False),
        (1, "first", False),
        (2, "grpc", False),
        (1, "second", False),
    ]


def test_span_with_missing_parent_is_an_orphan_root(make_span: Any) -> None:
    spans = [
        make_span(
            TRACE, "0000000000000001", None, name="root", service="core", start_ms=5, end_ms=50
        ),
        make_span(
            TRACE,
            "0000000000000009",
            "00000000000000ff",
            name="lost",
            service="rag",
            start_ms=1,
            end_ms=3,
        ),
    ]

    assert _names(build_tree(spans)) == [(0, "lost", True), (0, "root", False)]


def test_parent_cycle_is_cut_instead_of_hiding_spans(make_span: Any) -> None:
    spans = [
        make_span(
            TRACE,
            "000000000000000a",
            "000000000000000b",
            name="a",
            service="x",
            start_ms=0,
            end_ms=1,
        ),
        make_span(
            TRACE,
            "000000000000000b",
            "000000000000000a",
            name="b",
            service="x",
            start_ms=1,
            end_ms=2,
        ),
    ]

    assert _names(build_tree(spans)) == [(0, "a", True), (1, "b", False)]
