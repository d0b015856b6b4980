"""Switch a service's runtime faults (rag's ``/internal/faults``) from the operator's machine.

The drill that proves a rollout rolls back needs a new side that gets worse on demand. rag keeps
its fault flags behind ``PUT /internal/faults``, authenticated with the service token; this
module finds rag where the running gateway sends its traffic (the live render parameters first,
then the route table) and the token where the local runner keeps it.
"""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from strangler_gateway.errors import GatewayError
from strangler_gateway.nginx.layout import Layout, RenderState
from strangler_gateway.routetable import load_route_table

__all__ = ["TOKEN_ENV", "FaultService", "read_faults", "service_token", "write_faults"]

# STRANGLER_SERVICE_TOKEN: the token services accept on /internal (default: the local runner's
# var/secrets/service-token next to the gateway's prefix).
TOKEN_ENV = "STRANGLER_SERVICE_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
_TIMEOUT = 3.0


class FaultService:
    """Where a service's fault flags are: its base URL, found from the gateway's upstreams."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    @classmethod
    def locate(cls, upstream: str, table: Path, prefix: Path) -> "FaultService":
        """Return the service behind ``upstream`` as the running gateway reaches it."""
        overrides = RenderState.read(Layout.at(prefix)).upstream_overrides or {}
        servers = overrides.get(upstream)
        if not servers:
            known = {u.name: u for u in load_route_table(table).upstreams}
            if upstream not in known:
                raise GatewayError(f"no upstream named '{upstream}' in {table}")
            servers = list(known[upstream].servers)
        return cls(f"http://{servers[0]}", service_token(prefix))


def service_token(prefix: Path) -> str:
    """Return the service token from the environment, else the local runner's secrets."""
    if token := os.environ.get(TOKEN_ENV):
        return token
    path = Layout.at(prefix).prefix.parent / "secrets" / "service-token"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise GatewayError(f"no service token: set {TOKEN_ENV} or create {path}") from None


def read_faults(service: FaultService) -> dict[str, Any]:
    """Return the fault flags in force."""
    return _call(service, "GET", None)


def write_faults(service: FaultService, flags: dict[str, Any]) -> dict[str, Any]:
    """Replace the fault flags (``{}`` clears them) and return them as the service took them."""
    return _call(service, "PUT", flags)


def _call(service: FaultService, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (an http URL of our own upstream)
        f"{service.url}/internal/faults",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {service.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise GatewayError(f"{service.url} refused the faults: {_message(exc)}") from None
    except (OSError, ValueError) as exc:
        raise GatewayError(f"cannot reach {service.url}: {exc}") from None
    if not isinstance(answer, dict):
        raise GatewayError(f"{service.url} answered something other than fault flags")
    return answer


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {error.code}"
