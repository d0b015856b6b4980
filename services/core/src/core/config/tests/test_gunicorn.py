"""core's HTTP entrypoint as it is really started: gunicorn with services/core/gunicorn.conf.py."""

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
