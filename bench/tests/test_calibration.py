"""The machine's yardstick: bare Django's `/healthz` timed in a process of its own."""

import re
import subprocess
import sys

import pytest
from strangler_bench import calibration
from strangler_bench.calibration import Speed


def test_the_yardstick_answers_200_and_times_one_call() -> None:
    # The probe checks every answer (200, the hello-world's body) and fails loudly otherwise.
    us = calibration.measure(calls=50, blocks=2)
    # One in-process WSGI call: tens of µs on a quiet machine, never a second, never nothing.
    assert 1 < us < 1_000_000


def test_the_report_line_gives_the_speed_before_and_after_the_run() -> None:
    line = Speed(42.04, 55.46).line()
    assert re.search(r"42\.0 µs per call before the stack started, 55\.5 after it stopped", line)
    assert "after" not in Speed(42.0).line()


def test_a_failed_yardstick_after_the_run_leaves_the_figure_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After the run the report must still be written: no figure rather than no report.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert calibration.measure_or_none() is None
    with pytest.raises(subprocess.CalledProcessError):
        calibration.measure()
