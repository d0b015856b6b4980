"""Cross-service fixtures: the whole stack started on free ports with its own state folder."""

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack import Ports, Stack, StackConfig, find_root
from strangler_testing import wait_until

ROOT = find_root(Path(__file__).parent)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start core (HTTP + gRPC), rag, webhooks, the trace store and nginx; stop them after."""
    var = tmp_path_factory.mktemp("stack")
    routes = var / "routes.toml"
    shutil.copy(ROOT / "gateway" / "routes.toml", routes)
    names = [field for field in Ports.__dataclass_fields__]
    ports = Ports(**dict(zip(names, _free_ports(len(names)), strict=True)))
    config = StackConfig.load(ROOT).replace(var=var, routes=routes, ports=ports, ready_seconds=90)
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client whose base URL is the gateway."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{stack.config.ports.gateway}", timeout=10
    ) as client:
        yield client


def _poll(check: Callable[[], Any], *, seconds: float = 15.0, every: float = 0.1) -> Any:
    """Call ``check`` until it returns something truthy, failing after the deadline."""
    return wait_until(check, timeout=seconds, every=every)


@pytest.fixture(scope="session")
def poll() -> Callable[..., Any]:
    """Wait for a condition with a deadline (never sleep-and-hope)."""
    return _poll


@pytest.fixture(scope="session")
def set_route(stack: Stack, gateway: httpx.Client) -> Callable[..., None]:
    """Change one route's mode in the route table and apply it to the running gateway."""

    def change(route: str, mode: str, percent: int | None = None) -> None:
        version = stack.set_route(route, mode, percent)
        _poll(lambda: gateway.get("/healthz").headers.get("x-gateway-config") == version)

    return change
