"""core's HTTP entrypoint as it is really started: gunicorn with services/core/gunicorn.conf.py."""

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from strangler_testing import bound_socket, port_of

from core.config.tests.processes import SERVICE_DIR, process_env, start, stop, wait_until


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_gunicorn_serves_with_the_config_and_stops_gracefully(tmp_path: Path) -> None:
    # gunicorn serves the socket the test bound: no other process can take the port meanwhile.
    with bound_socket() as sock:
        port = port_of(sock)
        argv = [
            "-m",
            "gunicorn",
            "core.config.wsgi:application",
            "-c",
            str(SERVICE_DIR / "gunicorn.conf.py"),
            "--bind",
            f"fd://{sock.fileno()}",
        ]
        process = start(argv, process_env(tmp_path), tmp_path, pass_fds=[sock.fileno()])
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), process, 30)
        response = httpx.get(f"http://127.0.0.1:{port}/nowhere", timeout=5)
    finally:
        code = stop(process)

    assert (response.status_code, response.headers["X-Service"]) == (404, "core")
    assert response.json()["error"]["code"] == "not_found"
    assert code == 0
    assert "GET /nowhere" in (tmp_path / "stdout.log").read_text()


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # an fd closed while listing
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_inodes(port: int, state: str) -> set[str]:
    """Inodes of the IPv4 sockets on local ``port`` in ``state`` (0A listen, 01 established)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        # Inode 0: a connection no process has accepted yet.
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state and fields[9] != "0":
            inodes.add(fields[9])
    return inodes


def test_each_worker_listens_on_its_own_socket_and_gets_a_share_of_connections(
    tmp_path: Path,
) -> None:
    # Held with SO_REUSEPORT until the workers listen: only sockets that set it too can join.
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(("127.0.0.1", 0))
    port = port_of(holder)
    argv = [
        "-m", "gunicorn", "core.config.wsgi:application",
        "-c", str(SERVICE_DIR / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    process = start(argv, {**process_env(tmp_path), "GUNICORN_WORKERS": "2"}, tmp_path)
    workers: list[int] = []
    clients: list[socket.socket] = []

    def listening() -> list[set[str]]:
        return [_socket_inodes(pid) & _tcp_inodes(port, "0A") for pid in workers]

    def ready() -> bool:
        """Both workers up, each listening (on its own socket or on a shared one)."""
        workers[:] = _children(process.pid)
        return len(workers) == 2 and all(listening())

    try:
        wait_until(ready, process, 30)
        holder.close()
        listeners = listening()
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        wait_until(lambda: len(_tcp_inodes(port, "01")) == 16, process, 10)  # all accepted
        served = [len(_socket_inodes(pid) & _tcp_inodes(port, "01")) for pid in workers]
    finally:
        for client in clients:
            client.close()
        holder.close()
        stop(process)

    assert all(len(inodes) == 1 for inodes in listeners), listeners
    assert listeners[0] != listeners[1]
    # Spread by a hash of the addresses: all 16 on one worker is a 1-in-32,768 chance.
    assert sum(served) == 16 and min(served) > 0, served


def _open_files(pid: int, path: Path) -> int:
    """How many of the process's file descriptors (all threads share them) point at ``path``."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd) == str(path)
    return count


def _database_fds_after_requests(tmp_path: Path, **env: str) -> tuple[list[int], int]:
    """Answer three requests that read the database; return their statuses and the open files."""
    tmp_path.mkdir()
    environment = {**process_env(tmp_path), "GUNICORN_THREADS": "1", **env}
    database = tmp_path / "core.sqlite3"
    migrate = [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, env=environment, check=True, capture_output=True, timeout=120)
    with bound_socket() as sock:
        port = port_of(sock)
        argv = [
            "-m", "gunicorn", "core.config.wsgi:application",
            "-c", str(SERVICE_DIR / "gunicorn.conf.py"), "--bind", f"fd://{sock.fileno()}",
        ]  # fmt: skip
        process = start(argv, environment, tmp_path, pass_fds=[sock.fileno()])
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), process, 30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            answers = [client.get("/api/customers/1").status_code for _ in range(3)]
            # The worker closes a response (and so the database connection) after its last byte
            # reached the client; its one thread takes the next request only once that is done.
            client.get("/healthz").raise_for_status()
        (worker,) = _children(process.pid)
        return answers, _open_files(worker, database)
    finally:
        stop(process)


def test_a_worker_thread_keeps_its_database_connection_between_requests(tmp_path: Path) -> None:
    # Opening one per request cost 0.6 ms of a search's 2.1 ms, traced or not, and more traced.
    misses = [404, 404, 404]  # no customer 1 in a fresh database: each answer read it
    assert _database_fds_after_requests(tmp_path / "default") == (misses, 1)
    per_request = _database_fds_after_requests(tmp_path / "per-request", DJANGO_CONN_MAX_AGE="0")
    assert per_request == (misses, 0)
