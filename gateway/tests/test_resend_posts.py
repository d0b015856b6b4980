"""``resend_posts``: a POST sent to a server of the new upstream that reset goes to the next one.

nginx passes a POST to the next server only when it was never sent (connection refused). A
process going down can still accept a connection and then reset it, with the POST already sent:
the sender got a 502. On a route whose new side answers a repeat without a second effect (webhook
intake), the route table says ``resend_posts = true`` and that POST goes to the other server.
"""

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from strangler_testing.gateway import EchoUpstream, running_gateway

from .conftest import table_text

POSTS = 4


class ResettingServer:
    """A server that accepts each connection, reads the request, and resets the connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.recv(65536)
            # SO_LINGER 0: close() sends a RST, as the kernel does for a dying process's sockets.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def resetting() -> Iterator[ResettingServer]:
    server = ResettingServer()
    yield server
    server.close()


def _statuses(
    tmp_path: Path,
    upstreams: dict[str, EchoUpstream],
    resetting: ResettingServer,
    resend: bool,
) -> list[int]:
    text = table_text().replace(
        'override = false\nmode = "migrated"',
        f'override = false\nresend_posts = {str(resend).lower()}\nmode = "migrated"',
    )
    table = tmp_path / "routes.toml"
    table.write_text(text)
    servers = {name: [upstream.address] for name, upstream in upstreams.items()}
    servers["service"] = [resetting.address, upstreams["service"].address]
    with running_gateway(table, tmp_path / "nginx", servers) as gateway:
        return [
            gateway.fetch("/webhooks/stripe", method="POST", body=b'{"id": "evt_1"}').status
            for _ in range(POSTS)
        ]


def test_a_reset_post_goes_to_the_next_server_when_the_route_allows(
    tmp_path: Path, upstreams: dict[str, EchoUpstream], resetting: ResettingServer
) -> None:
    statuses = _statuses(tmp_path, upstreams, resetting, resend=True)

    assert resetting.connections >= 1, "the resetting server was tried"
    assert statuses == [200] * POSTS


def test_without_the_flag_a_reset_post_is_a_502(
    tmp_path: Path, upstreams: dict[str, EchoUpstream], resetting: ResettingServer
) -> None:
    statuses = _statuses(tmp_path, upstreams, resetting, resend=False)

    assert resetting.connections >= 1
    assert statuses.count(502) == resetting.connections
