"""Starting core's real entrypoints as child processes, for tests that need the real thing."""

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from strangler_testing import wait_until as poll

SERVICE_DIR = Path(__file__).resolve().parents[4]
TOKEN = "process-test-token-0123456789abcdefghijklmnopqrstuv"


def process_env(tmp_path: Path) -> dict[str, str]:
    """Return the environment of a core process with its own database and no trace export."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OTEL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="core.config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'core.sqlite3'}",
        STRANGLER_SERVICE_TOKEN=TOKEN,
        OTEL_TRACES_EXPORTER="none",
        GUNICORN_WORKERS="1",
    )
    return env


def start(
    argv: list[str], env: dict[str, str], tmp_path: Path, *, pass_fds: Sequence[int] = ()
) -> subprocess.Popen[bytes]:
    """Start a process whose output goes to files under tmp_path (``pass_fds`` it inherits)."""
    command = [sys.executable, *argv]
    # The child keeps its own copies of the log files; the test's are closed at once.
    with (tmp_path / "stdout.log").open("wb") as out, (tmp_path / "stderr.log").open("wb") as err:
        return subprocess.Popen(command, env=env, stdout=out, stderr=err, pass_fds=pass_fds)


def wait_until(check: Callable[[], bool], process: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``check`` until it holds; fail early if the process dies or time runs out."""

    def alive() -> bool:
        return process.poll() is None

    poll(check, timeout=seconds, every=0.05, what="the process to be ready", alive=alive)


def stop(process: subprocess.Popen[bytes], seconds: float = 20) -> int:
    """Send SIGTERM and return the exit code; kill only if it ignores the signal."""
    process.terminate()
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        raise
