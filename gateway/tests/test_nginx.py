"""The process controller: finds a usable nginx, starts it or says why not, and always stops it."""

import os
import socket
from pathlib import Path

import pytest
from strangler_gateway.errors import NginxError
from strangler_gateway.nginx.process import Nginx, apply, find_nginx, nginx_argv, running_pid
from strangler_testing.gateway import free_port

from .conftest import table_text


def _install(tmp_path: Path, port: int) -> Path:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    prefix = tmp_path / "nginx"
    apply(table, prefix, listen=f"127.0.0.1:{port}")
    return prefix


def test_the_nginx_found_is_executable() -> None:
    binary = find_nginx()
    assert binary.is_file()
    assert os.access(binary, os.X_OK)


def test_the_environment_names_the_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRANGLER_NGINX", "/opt/nginx/sbin/nginx")
    assert find_nginx() == Path("/opt/nginx/sbin/nginx")


def test_the_runner_command_runs_the_live_config_in_the_foreground(tmp_path: Path) -> None:
    argv = nginx_argv(tmp_path, binary=Path("/usr/sbin/nginx"))
    assert argv == [
        "/usr/sbin/nginx",
        "-p", f"{tmp_path.resolve()}/",
        "-c", str(tmp_path.resolve() / "conf" / "nginx.conf"),
        "-e", str(tmp_path.resolve() / "logs" / "error.log"),
    ]  # fmt: skip


def test_start_serves_and_stop_leaves_nothing_running(tmp_path: Path) -> None:
    port = free_port()
    nginx = Nginx(_install(tmp_path, port))
    nginx.start()
    try:
        assert running_pid(nginx.layout.prefix) == nginx.pid
        with pytest.raises(NginxError, match="already runs"):
            Nginx(nginx.layout.prefix).start()
    finally:
        nginx.stop()
    assert nginx.pid is None
    assert running_pid(nginx.layout.prefix) is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    nginx.stop()  # stopping twice is harmless


def test_start_on_a_taken_port_says_why_and_leaves_nothing_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        nginx = Nginx(_install(tmp_path, taken.getsockname()[1]))
        with pytest.raises(NginxError, match=r"nginx said: .*bind\(\)"):
            nginx.start(timeout=10)
    assert nginx.pid is None
    assert running_pid(nginx.layout.prefix) is None


def test_start_without_a_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NginxError, match="no gateway config"):
        Nginx(tmp_path).start()
