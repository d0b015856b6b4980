"""Starting core's real entrypoints as child processes, for tests that need the real thing."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[4]
TOKEN = "process-test-token-0123456789abcdefghijklmnopqrstuv"


def free_port() -> int:
    """Return a port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def start(argv: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    """Start a process whose output goes to files under tmp_path."""
    out = (tmp_path / "stdout.log").open("wb")
    err = (tmp_path / "stderr.log").open("wb")
    return subprocess.Popen([sys.executable, *argv], env=env, stdout=out, stderr=err)


def wait_until(check: Callable[[], bool], process: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``check`` until it holds; fail early if the process dies or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited early with {process.returncode}")
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not ready within {seconds}s")


def stop(process: subprocess.Popen[bytes], seconds: float = 20) -> int:
    """Send SIGTERM and return the exit code; kill only if it ignores the signal."""
    process.terminate()
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        raise
