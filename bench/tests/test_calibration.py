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


def test_the_report_line_gives_the_speed_before_each_workload() -> None:
    # A slow spell in the middle of a run shows against the workloads it hit.
    readings = (("quality", 42.04), ("gateway", 47.26), ("tracing", None))
    line = Speed(42.0, 43.0, readings).line()
    assert re.search(
        r"42\.0 µs per call before the stack started; before each workload: quality 42\.0, "
        r"gateway 47\.3, tracing not measured; 43\.0 after it stopped",
        line,
    )


def test_a_failed_yardstick_after_the_run_leaves_the_figure_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After the run the report must still be written: no figure rather than no report.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert calibration.measure_or_none() is None
    with pytest.raises(subprocess.CalledProcessError):
        calibration.measure()
