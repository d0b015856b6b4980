"""The comparator over real sockets: 202 at once, then legacy twice, new once, and a record."""

import time
from dataclasses import replace
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from strangler_gateway.shadow import ComparatorSettings, Compare, ShadowTarget, shadow_report
from strangler_testing.gateway import fetch, free_port
from strangler_testing.shadow import JsonUpstream, recorded_comparisons, running_comparator

from .conftest import USER_TRACE_ID, PostMirror

SEARCH: dict[str, Any] = {
    "query": "card",
    "k": 3,
    "results": [
        {"id": 1, "slug": "cards", "title": "Cards", "snippet": "card", "score": 2.5},
        {"id": 2, "slug": "billing", "title": "Billing", "snippet": "card", "score": 1.5},
    ],
}


def _target(legacy: JsonUpstream, new: JsonUpstream | str, **options: Any) -> ShadowTarget:
    new_address = new if isinstance(new, str) else new.address
    return ShadowTarget("search", (legacy.address,), (new_address,), **options)


def test_matching_answers_are_recorded_as_a_match(
    settings: ComparatorSettings, mirror: PostMirror
) -> None:
    with (
        JsonUpstream(SEARCH) as legacy,
        JsonUpstream(SEARCH) as new,
        running_comparator({"search": _target(legacy, new)}, settings) as comparator,
    ):
        reply = mirror(comparator.url)
        assert reply.status == 202 and reply.json() == {"status": "queued"}
        (row,) = comparator.comparisons()
    assert row["outcome"] == "match" and row["rule"] == "json"
    assert row["route"] == "search" and row["method"] == "GET"
    assert row["uri"] == "/api/search?q=card&k=3"
    assert row["request_id"] == "a" * 32
    assert row["trace_id"] == USER_TRACE_ID
    assert row["legacy_status"] == row["new_status"] == 200
    assert row["legacy_ms"] is not None and row["new_ms"] is not None
    assert row["diff"] == [] and row["noise"] == []


def test_legacy_is_called_twice_and_new_once_directly(
    settings: ComparatorSettings, mirror: PostMirror, tracer_provider: TracerProvider
) -> None:
    with (
        JsonUpstream(SEARCH) as legacy,
        JsonUpstream(SEARCH) as new,
        running_comparator(
            {"search": _target(legacy, new)}, settings, tracer_provider=tracer_provider
        ) as comparator,
    ):
        mirror(comparator.url)
        comparator.comparisons()
        legacy_calls, new_calls = legacy.received, new.received
    assert [call.path for call in legacy_calls] == ["/api/search?q=card&k=3"] * 2
    assert [call.path for call in new_calls] == ["/api/search?q=card&k=3"]
    for call in [*legacy_calls, *new_calls]:
        assert call.method == "GET"
        assert call.headers["x-shadow"] == "1"
        assert call.headers["x-request-id"] == "a" * 32
        # The upstreams join the comparison's own trace, not the user's.
        assert USER_TRACE_ID not in call.headers["traceparent"]
    assert "migration.target=legacy" in legacy_calls[0].headers["baggage"]
    assert "migration.target=new" in new_calls[0].headers["baggage"]
    assert "migration.mode=shadow" in new_calls[0].headers["baggage"]
    assert "user.tier=gold" in new_calls[0].headers["baggage"]


def test_a_differing_answer_is_recorded_with_its_paths(
    settings: ComparatorSettings, mirror: PostMirror
) -> None:
    changed = {**SEARCH, "k": 5}
    with (
        JsonUpstream(SEARCH) as legacy,
        JsonUpstream(changed) as new,
        running_comparator({"search": _target(legacy, new)}, settings) as comparator,
    ):
        mirror(comparator.url)
        (row,) = comparator.comparisons()
    assert row["outcome"] == "diff"
    assert row["diff"] == [{"path": "k", "legacy": 3, "new": 5}]


def test_the_route_rule_and_noise_apply(settings: ComparatorSettings, mirror: PostMirror) -> None:
    def noisy_legacy(call: int) -> dict[str, Any]:
        return {**SEARCH, "took_ms": call, "generated": f"g{call}"}

    reordered = {**SEARCH, "results": list(reversed(SEARCH["results"])), "took_ms": 99}
    with JsonUpstream(noisy_legacy) as legacy, JsonUpstream(reordered) as new:
        target = _target(legacy, new, rule=Compare.SEARCH, ignore=("took_ms",))
        with running_comparator({"search": target}, settings) as comparator:
            mirror(comparator.url)
            (row,) = comparator.comparisons()
    assert row["outcome"] == "match" and row["rule"] == "search"
    assert row["overlap"] == 1.0
    # took_ms differs too, but it is ignored by the route, so it is not reported as noise.
    assert row["noise"] == ["generated"]


def test_the_202_does_not_wait_for_a_slow_new_upstream(
    settings: ComparatorSettings, mirror: PostMirror
) -> None:
    settings = replace(settings, budget_seconds=1.0)
    with (
        JsonUpstream(SEARCH) as legacy,
        JsonUpstream(SEARCH, delay=30) as slow,
        running_comparator({"search": _target(legacy, slow)}, settings) as comparator,
    ):
        fetch(comparator.url, "/healthz")  # a warm connection path, so only /compare is timed
        started = time.monotonic()
        reply = mirror(comparator.url)
        elapsed = time.monotonic() - started
        assert reply.status == 202
        # Well inside the budget the slow upstream will exhaust.
        assert elapsed < settings.budget_seconds / 2
        (row,) = comparator.comparisons()
    assert row["outcome"] == "timeout"
    assert row["new_ms"] is None and row["legacy_ms"] is not None
    assert "new" in row["detail"] and "legacy" not in row["detail"]


def test_an_unreachable_new_upstream_is_an_error_not_a_diff(
    settings: ComparatorSettings, mirror: PostMirror
) -> None:
    nothing_listens = f"127.0.0.1:{free_port()}"
    with (
        JsonUpstream(SEARCH) as legacy,
        running_comparator({"search": _target(legacy, nothing_listens)}, settings) as comparator,
    ):
        mirror(comparator.url)
        (row,) = comparator.comparisons()
    assert row["outcome"] == "error"
    assert row["detail"].startswith("new: ConnectError")


def test_a_full_queue_drops_and_counts(settings: ComparatorSettings, mirror: PostMirror) -> None:
    settings = replace(settings, workers=1, queue_size=1, budget_seconds=5.0)
    with (
        JsonUpstream(SEARCH) as legacy,
        JsonUpstream(SEARCH, delay=30) as slow,
        running_comparator({"search": _target(legacy, slow)}, settings) as comparator,
    ):
        # One comparison busy for the whole budget, one waiting: the rest cannot be queued.
        statuses = [mirror(comparator.url).json()["status"] for _ in range(6)]
        dropped = statuses.count("dropped")
        assert dropped >= 4 and statuses[0] == "queued"
        deadline = time.monotonic() + 10
        while shadow_report(settings.db, "search").dropped < dropped:
            assert time.monotonic() < deadline, "the drops were not recorded in time"
            time.sleep(0.05)
    # Stopping abandons the running and the waiting comparison: they count as dropped, so every
    # mirrored request is either recorded whole or counted, never half recorded.
    report = shadow_report(settings.db, "search")
    assert report.dropped + report.compared == len(statuses)


def test_only_get_and_head_are_compared(settings: ComparatorSettings, mirror: PostMirror) -> None:
    with (
        JsonUpstream(SEARCH) as legacy,
        JsonUpstream(SEARCH) as new,
        running_comparator({"search": _target(legacy, new)}, settings) as comparator,
    ):
        skipped = mirror(comparator.url, "/api/chat", method="POST")
        assert skipped.status == 202 and skipped.json()["status"] == "skipped"
        assert mirror(comparator.url, method="HEAD").status == 202
        (row,) = comparator.comparisons()
        assert {call.method for call in [*legacy.received, *new.received]} == {"HEAD"}
    assert row["method"] == "HEAD" and row["outcome"] == "match"


def test_bad_mirror_requests_get_the_error_envelope(
    settings: ComparatorSettings, mirror: PostMirror
) -> None:
    target = ShadowTarget("search", ("127.0.0.1:9",), ("127.0.0.1:9",))
    with running_comparator({"search": target}, settings) as comparator:
        assert fetch(comparator.url, "/healthz").json() == {"status": "ok"}
        unknown = mirror(comparator.url, route="nope")
        missing = fetch(comparator.url, "/compare", headers={"X-Shadow-Route": "search"})
        bad_uri = mirror(comparator.url, "http://elsewhere/")
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "unknown_route"
    assert missing.status == 400 and missing.json()["error"]["code"] == "missing_header"
    assert set(missing.json()["error"]["fields"]) == {"X-Shadow-Uri", "X-Shadow-Method"}
    assert bad_uri.status == 400 and bad_uri.json()["error"]["code"] == "invalid_header"
    assert recorded_comparisons(settings.db) == []


def test_the_database_survives_a_restart(settings: ComparatorSettings, mirror: PostMirror) -> None:
    with JsonUpstream(SEARCH) as legacy, JsonUpstream(SEARCH) as new:
        for expected in (1, 2):
            with running_comparator({"search": _target(legacy, new)}, settings) as comparator:
                mirror(comparator.url)
                assert len(comparator.comparisons(at_least=expected)) == expected
    assert shadow_report(settings.db, "search").matches == 2
