"""Servers the bench starts itself: spawn in a session of their own, wait for 200, sample RSS, stop.

Every process measured runs in its own session so a stop reaches gunicorn's workers too, and its
memory is the sum over the whole process tree (a gunicorn master and its workers are one server).
Only processes started here are ever signalled, by their own process group.
"""

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from strangler_bench.load import LoadResult

HOST = "127.0.0.1"
_PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
"""Clock ticks per second, the unit of the CPU times in /proc."""


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class StartError(RuntimeError):
    """A server exited or did not answer in time; the message carries its log's tail."""


@dataclass
class Server:
    """One running server (a process tree) and where it answers."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_seconds: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        """Return the resident memory of the whole process tree, in bytes."""
        return sum(_rss(pid) for pid in tree(self.pid))

    def stop(self, seconds: float = 10.0) -> None:
        """Stop the server's session gracefully, killing it after ``seconds``."""
        _signal_group(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            _signal_group(self.pid, signal.SIGKILL)
            self.process.wait(timeout=seconds)
        # Workers left behind by a master that died first.
        _signal_group(self.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return kids
    for task in tasks:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            kids += [int(child) for child in (task / "children").read_text().split()]
    return kids


def tree(pid: int) -> list[int]:
    """Return ``pid`` and every process below it."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        pending += _children(current)
    return pids


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) the process tree under ``pid`` has used so far.

    A child that exits takes its time with it (its parent has not waited for it yet): measure
    across a span in which the tree's processes live throughout.
    """
    ticks = 0
    for member in tree(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = stat(member)[1]
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICKS


def stat(pid: int) -> tuple[str, list[str]]:
    """Return a process's command name and the fields of /proc/<pid>/stat after it (the state
    first, so utime is ``[11]``); raise OSError if the process is gone."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may hold spaces or parentheses itself.
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()


def wait_quiet(pid: int, *, window: float = 0.25, share: float = 0.1, limit: float = 30.0) -> None:
    """Wait until the process tree under ``pid`` uses less than ``share`` of a core over one
    ``window``, or ``limit`` seconds have passed.

    For a server that goes on working after its load has ended (the trace store taking in the
    spans of a run): its work then belongs to the run before, not to the next one.
    """
    deadline = time.monotonic() + limit
    while True:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < share * window or time.monotonic() >= deadline:
            return


def cpu_per_request(
    load: Callable[[], LoadResult], trees: Sequence[int], *, store: int, export_delay: float
) -> tuple[LoadResult, list[float]]:
    """Run one load; return it with each process tree's CPU µs per request answered.

    Over the whole run and the trace store's intake of its spans: the run starts once the store
    (the tree ``store``) is quiet, and the figures are read ``export_delay`` seconds after it, once
    the store is quiet again. The store goes on taking in a run's spans after the run (the
    servers export their last ones up to one export delay later), and that work is the run's: it
    would otherwise land on the next one. Per request answered: a GenAI load's CPU time also
    covers its ramp and drain, whose answers its rate leaves out.
    """
    wait_quiet(store)
    before = [cpu_seconds(pid) for pid in trees]
    result = load()
    time.sleep(export_delay)
    wait_quiet(store)
    served = max(1, result.answered)
    after = [cpu_seconds(pid) for pid in trees]
    return result, [(a - b) / served * 1e6 for a, b in zip(after, before, strict=True)]


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def spawn(
    name: str, argv: Sequence[str], env: dict[str, str], url: str, log_dir: Path, cwd: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``argv`` in a session of its own, logging to ``log_dir/name.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log


def wait_ok(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> float:
    """Poll ``GET url`` until it answers 200; return the seconds since this call."""
    started = time.perf_counter()
    deadline = started + seconds
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise StartError(f"{log.stem} exited ({process.returncode}):\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            time.sleep(0.02)
    _signal_group(process.pid, signal.SIGKILL)
    raise StartError(f"{log.stem}: no 200 from {url} within {seconds:.0f} s")


def start(
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    base_url: str,
    log_dir: Path,
    cwd: Path,
    ready_path: str = "/healthz",
    ready_seconds: float = 90.0,
) -> Server:
    """Start a server and return it once ``ready_path`` answers 200."""
    started = time.perf_counter()
    process, log = spawn(name, argv, env, base_url, log_dir, cwd)
    try:
        wait_ok(base_url + ready_path, process, log, ready_seconds)
    except StartError:
        _signal_group(process.pid, signal.SIGKILL)
        raise
    return Server(name, base_url, process, log, time.perf_counter() - started)


@dataclass
class PeakRss:
    """Samples a server's RSS in the background; ``peak`` is the highest seen."""

    server: Server
    every: float = 0.1
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "PeakRss":
        self.peak = self.server.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.server.rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
