"""The machine's yardstick: bare Django's `/healthz` timed in a process of its own."""

import re
import subprocess
import sys

import pytest
from strangler_bench import calibration
from strangler_bench.calibration import Reading, Speed


def test_the_yardstick_answers_200_and_times_one_call_back_to_back_and_after_a_pause() -> None:
    # The probe checks every answer (200, the hello-world's body) and fails loudly otherwise.
    reading = calibration.measure(calls=50, blocks=2, paused_calls=20)
    # One in-process WSGI call: tens of µs on a quiet machine, never a second, never nothing.
    assert 1 < reading.hot_us < 1_000_000
    assert 1 < reading.cold_us < 1_000_000
    # The pause is not in the figure: a 2 ms sleep per call would read at least 2,000 µs.
    assert reading.cold_us < calibration.PAUSE_SECONDS * 1e6


def test_the_report_line_gives_the_speed_before_and_after_the_run() -> None:
    line = Speed(Reading(42.04, 171.4), Reading(55.46, 260.6)).line()
    said = "µs per call back to back (best of 5 blocks) / after a 2 ms pause (median of 500)"
    assert said in line
    assert re.search(r"42\.0 / 171 before the stack started, 55\.5 / 261 after it stopped", line)
    assert "after it stopped" not in Speed(Reading(42.0, 170.0)).line()


def test_the_report_line_gives_the_speed_before_each_workload() -> None:
    # A slow spell in the middle of a run shows against the workloads it hit.
    readings = (
        ("quality", Reading(42.04, 180.0)),
        ("gateway", Reading(47.26, 361.6)),
        ("tracing", None),
    )
    line = Speed(Reading(42.0, 175.0), Reading(43.0, 190.0), readings).line()
    assert re.search(
        r"42\.0 / 175 before the stack started; before each workload: quality 42\.0 / 180, "
        r"gateway 47\.3 / 362, tracing not measured; 43\.0 / 190 after it stopped",
        line,
    )


def test_every_reading_of_the_run_counts_but_the_failed_ones() -> None:
    readings = (("internal", Reading(71.5, 265.4)), ("tracing", None))
    speed = Speed(Reading(50.0, 188.8), None, readings)
    assert speed.readings() == [Reading(50.0, 188.8), Reading(71.5, 265.4)]


def test_a_failed_yardstick_after_the_run_leaves_the_figure_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After the run the report must still be written: no figure rather than no report.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert calibration.measure_or_none() is None
    with pytest.raises(subprocess.CalledProcessError):
        calibration.measure()
