"""Each gunicorn worker tunes the cycle collector once it has loaded the app.

The probe runs the config's hooks in a fresh interpreter in a worker's order: ``post_fork``, the
WSGI app loaded, then ``post_worker_init``; it prints what the collector is left with.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from core.config.tests.processes import SERVICE_DIR, process_env

CONFIG = SERVICE_DIR / "gunicorn.conf.py"

_WORKER_PROBE = """
import gc, runpy, sys
hooks = runpy.run_path(sys.argv[1])
hooks["post_fork"](None, None)
import core.config.wsgi
before = gc.get_freeze_count()
hooks["post_worker_init"](None)
print((gc.get_threshold(), before, gc.get_freeze_count(), len(gc.get_objects())))
"""


def _worker_gc(env: dict[str, str]) -> tuple[tuple[int, int, int], int, int, int]:
    probe = subprocess.run(
        [sys.executable, "-c", _WORKER_PROBE, str(CONFIG)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result: tuple[tuple[int, int, int], int, int, int] = ast.literal_eval(
        probe.stdout.strip().splitlines()[-1]
    )
    return result


@pytest.mark.parametrize("tracing_off", ["false", "true"])
def test_a_worker_freezes_what_it_loaded_and_collects_the_young_less_often(
    tmp_path: Path, tracing_off: str
) -> None:
    env = {**process_env(tmp_path), "OTEL_SDK_DISABLED": tracing_off}
    thresholds, frozen_before, frozen, tracked = _worker_gc(env)
    assert thresholds == (10_000, 50, 100)
    assert frozen_before == 0
    # Django, the app and the instrumentation: tens of thousands of objects no collection
    # scans again, and next to nothing left outside.
    assert frozen > 20_000
    assert tracked < frozen / 10


def test_the_thresholds_come_from_the_environment(tmp_path: Path) -> None:
    env = {**process_env(tmp_path), "CORE_GC_THRESHOLDS": "[0, 10, 10]"}
    thresholds, *_ = _worker_gc(env)
    assert thresholds == (0, 10, 10)


@pytest.mark.parametrize("raw", ["[-1, 10, 10]", "[700, 10]", "700,10,10", '["700", 10, 10]'])
def test_gunicorn_refuses_thresholds_it_cannot_use(tmp_path: Path, raw: str) -> None:
    env = {**process_env(tmp_path), "CORE_GC_THRESHOLDS": raw}
    argv = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--check-config"]
    checked = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert checked.returncode != 0
    assert f"CORE_GC_THRESHOLDS must be a JSON list of three integers >= 0, not {raw!r}" in (
        checked.stdout + checked.stderr
    )
