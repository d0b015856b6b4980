"""The gateway's part in the stack: render the route table for the stack's ports, run nginx."""

from pathlib import Path

import strangler_gateway

from devstack._config import StackConfig

_HOST = "127.0.0.1"


def _servers(config: StackConfig) -> dict[str, list[str]]:
    ports = config.ports
    return {
        "core": [f"{_HOST}:{ports.core_http}"],
        "rag": [f"{_HOST}:{ports.rag_http}"],
        "webhooks": [f"{_HOST}:{ports.webhooks}"],
    }


def render(config: StackConfig) -> Path:
    """Render, check (`nginx -t`) and install the gateway config; reload nginx if it runs."""
    result = strangler_gateway.apply(
        config.routes,
        config.nginx_prefix,
        _servers(config),
        listen=f"{_HOST}:{config.ports.gateway}",
    )
    return result.conf


def nginx_argv(config: StackConfig) -> list[str]:
    """Return the command that runs the gateway's nginx in the foreground."""
    return strangler_gateway.nginx_argv(config.nginx_prefix)


def set_route_mode(config: StackConfig, route: str, mode: str, percent: int | None = None) -> str:
    """Change one route's mode, apply it, and return the id of the config now serving."""
    change = strangler_gateway.set_route_mode(
        config.routes, config.nginx_prefix, route, mode, percent
    )
    return change.config_id
