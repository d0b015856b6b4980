"""Ports that nobody can take before the server has them.

"Pick a free port, close it, start the server on it" leaves a gap in which another test (or
another suite on the same machine) can take the port. Here the test binds port 0 and keeps the
listening socket, and the server is handed the socket itself: uvicorn's ``sockets=`` or ``fd=``,
gunicorn's ``--bind fd://N`` with the descriptor passed to the child, grpc's ``add_insecure_port``
on port 0. nginx (and a child gRPC server given ``--bind host:port``) cannot take a descriptor
from its parent: ``picked_port`` keeps the gap as short as it can, and the gateway runner retries
on a collision. ``refusing_address`` is a port where nothing listens and nothing can start to.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "HOST",
    "bound_socket",
    "listening_socket",
    "picked_port",
    "port_of",
    "refusing_address",
]

HOST = "127.0.0.1"


def listening_socket(*, backlog: int = 128) -> socket.socket:
    """Return a TCP socket bound to a fresh port of 127.0.0.1 and listening (inheritable)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


@contextmanager
def bound_socket() -> Iterator[socket.socket]:
    """Hold a listening socket on a fresh port for the block; close it after."""
    sock = listening_socket()
    try:
        yield sock
    finally:
        sock.close()


def port_of(sock: socket.socket) -> int:
    """Return the port a socket is bound to."""
    return int(sock.getsockname()[1])


def picked_port() -> int:
    """Return a port that was free a moment ago, for a server that cannot take a socket (nginx).

    The best nginx allows: the kernel picks a port no one holds, and the caller retries its
    start on "address in use" (see ``strangler_testing.gateway.running_gateway``).
    """
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return port_of(probe)


@contextmanager
def refusing_address() -> Iterator[str]:
    """Yield ``host:port`` where connections are refused, held so no server can take it."""
    # Bound but never listening: the kernel refuses connections, and no one else can bind it.
    with socket.socket() as reserved:
        reserved.bind((HOST, 0))
        yield f"{HOST}:{port_of(reserved)}"
