"""The gateway's gRPC listener: HTTP/2 without TLS (h2c), routed by service name.

A gRPC call's path is ``/<package>.<Service>/<Method>``, so one prefix location per service sends
it to the service's owner with ``grpc_pass``. Metadata (the service token included) passes through
untouched; the gateway adds the same trace context as for HTTP. Errors the gateway itself produces
are answered as gRPC statuses (trailers-only responses), which clients understand, instead of
HTTP error pages, which they do not.
"""

from nginx.config.api import Block, EmptyBlock, KeyMultiValueOption, Location

from strangler_gateway.nginx.directives import add_headers, repeated, sets
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.nginx.tracecontext import GRPC_LOG, upstream_context
from strangler_gateway.routetable import GrpcRoute, RouteTable

__all__ = ["grpc_server"]

# Canonical gRPC status codes the gateway answers with.
_UNIMPLEMENTED = 12
_UNAVAILABLE = 14
_DEADLINE_EXCEEDED = 4


def grpc_server(table: RouteTable, listen: str, layout: Layout, config: str) -> Block:
    """Return the server block that proxies gRPC calls to the service that owns them."""
    server = Block("server", listen=listen, http2=True, server_name="_")
    server.sections.add(
        KeyMultiValueOption("access_log", [str(layout.access_log), GRPC_LOG]),
        repeated(
            "error_page",
            [["502", "503", "=200", "@sf_grpc_unavailable"], ["504", "=200", "@sf_grpc_timeout"]],
        ),
        *(
            _service_location(route, service, table)
            for route in table.grpc
            for service in route.services
        ),
        _status_location("/", _UNIMPLEMENTED, "no such service behind this gateway", config),
        _status_location("@sf_grpc_unavailable", _UNAVAILABLE, "upstream unavailable", config),
        _status_location("@sf_grpc_timeout", _DEADLINE_EXCEEDED, "upstream timed out", config),
    )
    return server


def _service_location(route: GrpcRoute, service: str, table: RouteTable) -> Location:
    seconds = f"{table.gateway.stream_read_seconds}s"
    location = Location(
        f"/{service}/",
        grpc_pass=f"grpc://{route.upstream}",
        grpc_connect_timeout="3s",
        # Server streams (an answer token by token) may be silent up to the stream read timeout.
        grpc_read_timeout=seconds,
        grpc_send_timeout=seconds,
    )
    location.sections.add(
        sets({"$sf_route": route.name}),
        repeated("grpc_set_header", upstream_context(baggage=False)),
        add_headers({"x-request-id": "$request_id"}),
    )
    return location


def _status_location(match: str, status: int, message: str, config: str) -> Location:
    # A trailers-only response: HTTP 200 with grpc-status in the headers and an empty body.
    location = Location(match, default_type="application/grpc")
    if not match.startswith("@"):
        # `set` before `return`: rewrite directives run in order, and the log reads the route.
        location.sections.add(sets({"$sf_route": ""}))
    location.sections.add(
        EmptyBlock(**{"return": "200"}),
        add_headers(
            {
                "grpc-status": str(status),
                "grpc-message": f'"{message}"',
                "x-request-id": "$request_id",
                "x-gateway-config": config,
            }
        ),
    )
    return location
