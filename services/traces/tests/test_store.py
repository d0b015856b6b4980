"""The SQLite store: upserts, summaries and prefix lookup, across separate connections."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from tracestore.models import SpanEvent, SpanLink, SpanRecord, SpanStatus, TraceFilter
from tracestore.store import CACHE_BYTES, CHECKPOINT_PAGES, TraceStore, _recent_query

TRACE = "e" * 32


def test_insert_is_an_upsert_visible_to_another_connection(tmp_path: Path, make_span: Any) -> None:
    db = tmp_path / "traces.sqlite3"
    first = make_span(TRACE, "1" * 16, None, name="v1", service="core", start_ms=0, end_ms=1)
    again = make_span(TRACE, "1" * 16, None, name="v2", service="core", start_ms=0, end_ms=2)

    with TraceStore(db) as writer:
        writer.insert([first])
        writer.insert([again])
    with TraceStore(db) as reader:
        spans = reader.spans(TRACE)

    assert [(span.name, span.duration_ms) for span in spans] == [("v2", 2.0)]


def test_store_creates_a_wal_database_with_indexes(tmp_path: Path) -> None:
    db = tmp_path / "traces.sqlite3"
    TraceStore(db).close()

    with sqlite3.connect(db) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(spans)")}
    conn.close()

    assert mode == "wal"
    assert {"spans_by_start", "spans_by_service_start", "spans_by_route"} <= indexes


def _leading_columns(conn: sqlite3.Connection) -> dict[str, str]:
    """Return each index of the spans table by name, with the column it is sorted by first."""
    leading: dict[str, str] = {}
    for index in conn.execute("PRAGMA index_list(spans)").fetchall():
        first = conn.execute(f"PRAGMA index_info({index[1]})").fetchone()
        leading[index[1]] = first[2] if first[2] is not None else "(expression)"
    return leading


def test_only_the_primary_key_is_led_by_the_random_trace_id(tmp_path: Path) -> None:
    # A new span lands at a random place of any index led by the trace id: in a file larger than
    # the page cache, every export then reads and rewrites a page per span for each such index.
    TraceStore(tmp_path / "traces.sqlite3").close()

    with sqlite3.connect(tmp_path / "traces.sqlite3") as conn:
        leading = _leading_columns(conn)
    conn.close()

    by_trace = sorted(name for name, column in leading.items() if column == "trace_id")
    assert by_trace == ["sqlite_autoindex_spans_1"]


def _io_bytes() -> tuple[int, int]:
    """Bytes this process has read and written by system calls so far (cached by the kernel or
    not)."""
    counters = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(counters["rchar"]), int(counters["wchar"])


def _search_span(ids: random.Random) -> SpanRecord:
    """A span of rag's search under fresh random ids, as live traffic sends them."""
    return SpanRecord(
        trace_id=f"{ids.getrandbits(128):032x}",
        span_id=f"{ids.getrandbits(64):016x}",
        parent_span_id=None,
        name="GET /api/search",
        kind="SERVER",
        service_name="rag",
        start_unix_nano=1,
        end_unix_nano=2,
        status=SpanStatus("UNSET", ""),
        attributes={"http.route": "/api/search"},
        resource_attributes={"service.name": "rag"},
    )


def _exports_io(db: Path, exports: int, **options: int) -> tuple[int, int]:
    """Fill a store with 51,200 spans in exports of 512; return what more exports read and wrote."""
    ids = random.Random(7)

    def export() -> list[SpanRecord]:
        return [_search_span(ids) for _ in range(512)]

    with TraceStore(db, **options) as store:
        for _ in range(100):
            store.insert(export())
        read, written = _io_bytes()
        for _ in range(exports):
            store.insert(export())
        now_read, now_written = _io_bytes()
        return now_read - read, now_written - written


def test_an_export_finds_the_key_index_in_memory_once_it_outgrows_sqlites_default_cache(
    tmp_path: Path,
) -> None:
    # At 51,200 spans the primary key's index (random trace ids) takes about 3.3 MB.
    sqlite_default, _ = _exports_io(tmp_path / "small.sqlite3", 10, cache_bytes=2_048_000)
    store_default, _ = _exports_io(tmp_path / "default.sqlite3", 10, cache_bytes=CACHE_BYTES)

    # What is still read comes from checkpoints, which copy the log's pages into the database.
    assert store_default < sqlite_default / 2, (store_default, sqlite_default)


def test_a_longer_log_copies_the_pages_many_exports_changed_once(tmp_path: Path) -> None:
    sqlite_default = _exports_io(tmp_path / "short.sqlite3", 40, checkpoint_pages=1000)
    store_default = _exports_io(tmp_path / "long.sqlite3", 40, checkpoint_pages=CHECKPOINT_PAGES)

    assert sum(store_default) < 0.75 * sum(sqlite_default), (store_default, sqlite_default)


def test_a_database_of_an_earlier_version_loses_its_trace_led_indexes(
    tmp_path: Path, make_span: Any
) -> None:
    db = tmp_path / "traces.sqlite3"
    with TraceStore(db) as store:
        store.insert(
            [make_span(TRACE, "1" * 16, None, name="s", service="x", start_ms=0, end_ms=1)]
        )
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE INDEX spans_by_trace_start ON spans (trace_id, start_unix_nano)")
        conn.execute("CREATE INDEX spans_by_service ON spans (service_name, trace_id)")
    conn.close()

    with TraceStore(db) as store:
        spans = store.spans(TRACE)
    with sqlite3.connect(db) as conn:
        leading = _leading_columns(conn)
    conn.close()

    assert [span.name for span in spans] == ["s"]
    assert "spans_by_trace_start" not in leading
    assert "spans_by_service" not in leading
    assert leading["spans_by_service_start"] == "service_name"


def test_listing_by_service_reads_the_service_index_alone(tmp_path: Path) -> None:
    TraceStore(tmp_path / "traces.sqlite3").close()
    query, params = _recent_query(TraceFilter(service="rag"))

    with sqlite3.connect(tmp_path / "traces.sqlite3") as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {query}", [*params, 20]).fetchall()
    conn.close()

    details = [row[3] for row in plan]
    assert any("COVERING INDEX spans_by_service_start" in detail for detail in details), details


def test_spans_of_one_export_keep_their_own_resource_events_and_links(
    tmp_path: Path, make_span: Any
) -> None:
    # One export, two resources shared by their spans (as the OTLP decoder hands them over), one
    # span with an event and a link: each row keeps what its own span carried.
    core = {"service.name": "core", "service.version": "1.0"}
    rag = {"service.name": "rag", "service.version": "2.0"}
    event = SpanEvent("retry", 5, {"attempt": 2})
    link = SpanLink("f" * 32, "2" * 16, {"shadow": True})
    spans = [
        replace(make_span(TRACE, f"{i + 1:016x}", None, name=f"s{i}", service="x", start_ms=i,
                          end_ms=i + 1), resource_attributes=resource)
        for i, resource in enumerate([core, rag, core, rag])
    ]  # fmt: skip
    spans[3] = replace(spans[3], events=[event], links=[link])
    with TraceStore(tmp_path / "traces.sqlite3") as store:
        store.insert(spans)
        stored = store.spans(TRACE)

    assert [span.resource_attributes for span in stored] == [core, rag, core, rag]
    assert [(span.events, span.links) for span in stored] == [([], [])] * 3 + [([event], [link])]


def test_summary_prefers_the_true_root_over_an_earlier_orphan(
    tmp_path: Path, make_span: Any
) -> None:
    with TraceStore(tmp_path / "traces.sqlite3") as store:
        store.insert(
            [
                make_span(
                    TRACE, "2" * 16, "f" * 16, name="orphan", service="rag", start_ms=0, end_ms=5
                ),
                make_span(
                    TRACE,
                    "1" * 16,
                    None,
                    name="root",
                    service="core",
                    start_ms=1,
                    end_ms=9,
                    status="ERROR",
                ),
            ]
        )
        [summary] = store.recent_traces()

    assert (summary.root_name, summary.root_service) == ("root", "core")
    assert summary.services == {"core", "rag"}
    assert (summary.span_count, summary.duration_ms, summary.error) == (2, 9.0, True)


def test_prefix_lookup_finds_unique_and_ambiguous_ids(tmp_path: Path, make_span: Any) -> None:
    ids = ["ab" + "0" * 30, "ab" + "1" * 30, "cd" + "0" * 30]
    with TraceStore(tmp_path / "traces.sqlite3") as store:
        store.insert(
            [make_span(t, "1" * 16, None, name="s", service="x", start_ms=0, end_ms=1) for t in ids]
        )

        assert store.trace_ids_with_prefix("AB") == ids[:2]
        assert store.trace_ids_with_prefix("ab1") == [ids[1]]
        assert store.trace_ids_with_prefix(ids[2]) == [ids[2]]
        assert store.trace_ids_with_prefix("ef") == []


def test_a_database_from_before_trace_state_is_upgraded(tmp_path: Path, make_span: Any) -> None:
    db = tmp_path / "traces.sqlite3"
    old_columns = ", ".join(
        f"{name} {kind}"
        for name, kind in [
            ("trace_id", "TEXT NOT NULL"), ("span_id", "TEXT NOT NULL"), ("parent_span_id", "TEXT"),
            ("name", "TEXT NOT NULL"), ("kind", "TEXT NOT NULL"), ("service_name", "TEXT NOT NULL"),
            ("start_unix_nano", "INTEGER NOT NULL"), ("end_unix_nano", "INTEGER NOT NULL"),
            ("status_code", "TEXT NOT NULL"), ("status_message", "TEXT NOT NULL"),
            ("attributes", "TEXT NOT NULL"), ("events", "TEXT NOT NULL"),
            ("links", "TEXT NOT NULL"), ("resource_attributes", "TEXT NOT NULL"),
            ("scope_name", "TEXT NOT NULL"),
        ]
    )  # fmt: skip
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE TABLE spans ({old_columns}, PRIMARY KEY (trace_id, span_id))")
        conn.execute(
            "INSERT INTO spans VALUES (?, 'a', NULL, 'old', 'SERVER', 'core', 0, 1, 'UNSET', '',"
            " '{}', '[]', '[]', '{}', '')",
            [TRACE],
        )
    conn.close()

    with TraceStore(db) as store:
        store.insert([make_span(TRACE, "b" * 16, None, name="new", service="rag", start_ms=0,
                                end_ms=1)])  # fmt: skip
        spans = store.spans(TRACE)

    assert [(span.name, span.trace_state) for span in spans] == [("old", ""), ("new", "")]
