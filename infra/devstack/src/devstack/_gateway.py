"""The gateway's part in the stack: render the route table for the stack's ports, run nginx."""

from pathlib import Path

import strangler_gateway
from strangler_gateway.nginx.layout import Layout

from devstack._config import StackConfig

_HOST = "127.0.0.1"


def upstream_servers(config: StackConfig) -> dict[str, list[str]]:
    """Return where each upstream the route table names listens in this stack."""
    names = {
        upstream.name for upstream in strangler_gateway.load_route_table(config.routes).upstreams
    }
    ports = config.ports
    servers = {
        "core": ports.core_http,
        "rag": ports.rag_http,
        "core_grpc": ports.core_grpc,
        "rag_grpc": ports.rag_grpc,
        "shadow": ports.shadow,
        "traces": ports.traces,
        "console": ports.console,
        "reflection": ports.reflection,
    }
    found = {name: [f"{_HOST}:{port}"] for name, port in servers.items() if name in names}
    if "webhooks" in names:
        found["webhooks"] = [f"{_HOST}:{port}" for port in config.webhooks_ports]
    return found


def render(config: StackConfig) -> strangler_gateway.ApplyResult:
    """Render, check (`nginx -t`) and install the gateway config; reload nginx if it runs."""
    return strangler_gateway.apply(
        config.routes,
        config.nginx_prefix,
        upstream_servers(config),
        listen=f"{_HOST}:{config.ports.gateway}",
        grpc_listen=f"{_HOST}:{config.ports.gateway_grpc}",
    )


def access_log(config: StackConfig) -> Path:
    """Return the gateway's JSON access log, which the trace store turns into gateway spans."""
    return Layout.at(config.nginx_prefix).access_log


def nginx_argv(config: StackConfig) -> list[str]:
    """Return the command that runs the gateway's nginx in the foreground."""
    return strangler_gateway.nginx_argv(config.nginx_prefix)


def set_route_mode(config: StackConfig, route: str, mode: str, percent: int | None = None) -> str:
    """Change one route's mode, apply it, and return the id of the config now serving."""
    change = strangler_gateway.set_route_mode(
        config.routes, config.nginx_prefix, route, mode, percent
    )
    return change.config_id
