"""Per-side stats and the sample-ratio-mismatch check, from access-log lines."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from strangler_gateway.routetable import Mode, Route
from strangler_gateway.traffic.stats import route_stats, sample_ratio_mismatch

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CANARY = Route("search", "/api/search", "core", "rag", Mode.CANARY, percent=30)


def _line(target: str, *, seconds_ago: float = 1, **changes: Any) -> dict[str, Any]:
    moment = (NOW - timedelta(seconds=seconds_ago)).isoformat(timespec="milliseconds")
    line = {"time": moment, "route": "search", "mode": "canary", "split": 30, "override": "",
            "target": target, "status": 200, "fallback": False, "request_time": 0.010}  # fmt: skip
    return {**line, **changes}


def test_an_honest_split_passes() -> None:
    verdict = sample_ratio_mismatch(legacy=7040, new=2960, new_percent=30)
    assert not verdict.mismatch
    assert verdict.p_value is not None and verdict.p_value > 0.05
    assert verdict.observed_new_percent == pytest.approx(29.6)


def test_a_skewed_split_is_flagged() -> None:
    # 33 % observed against 30 % configured, over 10,000 requests: far beyond chance.
    verdict = sample_ratio_mismatch(legacy=6700, new=3300, new_percent=30)
    assert verdict.mismatch
    assert verdict.p_value is not None and verdict.p_value < 0.001
    assert "sample ratio mismatch" in verdict.reason


def test_too_little_traffic_is_said_not_judged() -> None:
    verdict = sample_ratio_mismatch(legacy=6, new=0, new_percent=30)
    assert (verdict.mismatch, verdict.p_value) == (False, None)
    assert "not enough traffic" in verdict.reason


def test_a_side_configured_empty_must_stay_empty() -> None:
    assert not sample_ratio_mismatch(legacy=0, new=50, new_percent=100).mismatch
    stray = sample_ratio_mismatch(legacy=3, new=50, new_percent=100)
    assert stray.mismatch and "configured to get none" in stray.reason


def test_stats_per_side_count_a_fallback_against_new() -> None:
    lines = [_line("legacy", request_time=0.020) for _ in range(7)]
    lines += [_line("new", request_time=0.040), _line("new", status=503)]
    lines.append(_line("legacy", fallback=True))
    stats = route_stats(lines, CANARY, window_seconds=60, now=NOW)
    legacy, new = stats.side("legacy"), stats.side("new")
    assert (legacy.requests, legacy.errors, legacy.p50_ms) == (7, 0, pytest.approx(20.0))
    assert (new.requests, new.errors, new.fallbacks) == (3, 2, 1)
    assert new.error_rate == pytest.approx(2 / 3)


def test_the_window_other_routes_overrides_and_old_splits_are_left_out() -> None:
    lines = [_line("legacy") for _ in range(70)] + [_line("new") for _ in range(30)]
    noise = [
        _line("new", seconds_ago=120),  # before the window
        _line("new", route="chat"),  # another route
        _line("new", override="new"),  # a tester forcing a side
        _line("new", split=50),  # traffic of an earlier split
    ]
    stats = route_stats(lines + noise * 50, CANARY, window_seconds=60, now=NOW)
    assert (stats.srm.legacy, stats.srm.new) == (70, 30)
    assert not stats.srm.mismatch
    assert stats.side("new").requests == 30 + 100, "forced and earlier-split requests still count"


def test_the_check_counts_users_not_requests() -> None:
    # 70 users on legacy, 30 on new: an honest split, though one user on new is very busy.
    lines = [_line("legacy", unit=f"{n}.0.0") for n in range(30, 100)]
    lines += [_line("new", unit=f"{n}.0.0") for n in range(30)]
    lines += [_line("new", unit="0.0.0") for _ in range(500)]
    stats = route_stats(lines, CANARY, window_seconds=60, now=NOW)
    assert (stats.srm.legacy, stats.srm.new) == (70, 30)
    assert not stats.srm.mismatch
    assert stats.side("new").requests == 530
    assert sample_ratio_mismatch(70, 530, 30).mismatch, "requests alone would cry wolf"


def test_a_route_that_does_not_split_is_not_tested() -> None:
    migrated = Route("search", "/api/search", "core", "rag", Mode.MIGRATED)
    lines = [_line("new", mode="migrated", split=100) for _ in range(40)]
    stats = route_stats(lines, migrated, window_seconds=60, now=NOW)
    assert not stats.srm.mismatch and "does not split users" in stats.srm.reason
