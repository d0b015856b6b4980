"""Starting, watching and stopping the stack's processes, attached or across invocations.

Each process runs in its own session (so a stop reaches gunicorn's workers too), logs to
var/log/<name>.log and leaves its pid in var/run/<name>.pid, so ``devstack down`` can stop what an
earlier ``devstack up`` started. A pid is only signalled while its command line still matches, so
a stale pid file never kills an unrelated process.
"""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from devstack._config import StackConfig
from devstack._processes import ProcessSpec

_POLL_SECONDS = 0.1


class ProcessFailedError(RuntimeError):
    """A process exited or did not become ready in time."""


def _pid_file(config: StackConfig, name: str) -> Path:
    return config.run_dir / f"{name}.pid"


def log_tail(config: StackConfig, name: str, lines: int = 20) -> str:
    """Return the last lines of a process's log."""
    path = config.log_dir / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def spawn(spec: ProcessSpec, config: StackConfig) -> subprocess.Popen[bytes]:
    """Start one process in its own session, logging to its file, and record its pid."""
    with (config.log_dir / f"{spec.name}.log").open("ab") as log:
        process = subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=config.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(config, spec.name).write_text(f"{process.pid} {spec.cmdline_marker}\n")
    return process


def wait_ready(spec: ProcessSpec, process: subprocess.Popen[bytes], config: StackConfig) -> float:
    """Wait until the process passes its readiness check; return the seconds it took."""
    started = time.monotonic()
    deadline = started + config.ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessFailedError(
                f"{spec.name} exited with status {process.returncode} before it was ready; "
                f"last lines of {config.log_dir / spec.name}.log:\n{log_tail(config, spec.name)}"
            )
        if spec.ready():
            return time.monotonic() - started
        time.sleep(_POLL_SECONDS)
    raise ProcessFailedError(
        f"{spec.name} was not ready after {config.ready_seconds:.0f} s "
        f"({spec.ready.describe()}); last lines of its log:\n{log_tail(config, spec.name)}"
    )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state != "Z"


def _matches(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return marker in cmdline


def recorded_pid(config: StackConfig, name: str) -> int | None:
    """Return the pid recorded for a process if that process is still the one running."""
    path = _pid_file(config, name)
    if not path.exists():
        return None
    pid_text, _, marker = path.read_text().strip().partition(" ")
    pid = int(pid_text)
    return pid if _alive(pid) and _matches(pid, marker) else None


def stop(config: StackConfig, name: str, stop_signal: signal.Signals) -> bool:
    """Stop a recorded process (and its session) gracefully, killing it after the deadline."""
    pid = recorded_pid(config, name)
    _pid_file(config, name).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, stop_signal)
    deadline = time.monotonic() + config.stop_seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
