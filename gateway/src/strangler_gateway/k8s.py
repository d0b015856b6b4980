"""Render the route table as Kubernetes Gateway API objects: the same migration, on a cluster.

Each route becomes an ``HTTPRoute`` whose default rule splits traffic with weighted
``backendRefs`` (legacy 100 - N, new N), preceded by one rule per side matching the tester's
override header (more header matches win in Gateway API's precedence). A shadow route mirrors its
sampled share to new with a ``RequestMirror`` filter. gRPC routes become ``GRPCRoute`` objects
matched by service. Upstream names are Kubernetes Service names (``_`` becomes ``-``), on the port
of the upstream's first server.

What nginx does here and Gateway API's standard channel cannot express is left out, not faked:
stickiness per user (an implementation's session persistence), the fallback to legacy when new
fails, and the comparison of mirrored answers (the mirror only sends).
"""

from typing import Any

import yaml

from strangler_gateway.routetable import GrpcRoute, Match, Mode, Route, RouteTable

__all__ = ["API_VERSION", "render_k8s", "render_k8s_objects"]

API_VERSION = "gateway.networking.k8s.io/v1"
_WEIGHT_TOTAL = 100
_HEADER = (
    "# Gateway API routes rendered from gateway/routes.toml by `strangler k8s` — do not edit;\n"
    "# edit the route table and render again.\n"
)


def render_k8s_objects(
    table: RouteTable, *, namespace: str = "strangler", gateway: str = "strangler-gateway"
) -> list[dict[str, Any]]:
    """Return the HTTPRoute and GRPCRoute objects for ``table``."""
    parent = [{"name": gateway}]
    objects = [_http_route(route, table, namespace, parent) for route in table.routes]
    if table.gateway.trace_viewer is not None:
        objects.append(_plain_route("trace-viewer", "/traces", table.gateway.trace_viewer,
                                    table, namespace, parent))  # fmt: skip
    objects.append(
        _plain_route("catch-all", "/", table.gateway.catch_all, table, namespace, parent)
    )
    objects += [_grpc_route(route, table, namespace, parent) for route in table.grpc]
    return objects


def render_k8s(
    table: RouteTable, *, namespace: str = "strangler", gateway: str = "strangler-gateway"
) -> str:
    """Return the objects as one multi-document YAML file."""
    objects = render_k8s_objects(table, namespace=namespace, gateway=gateway)
    documents = [yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) for obj in objects]
    return _HEADER + "---\n" + "---\n".join(documents)


def _metadata(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/part-of": "strangler-fig", **labels},
    }


def _backend(upstream: str, table: RouteTable, weight: int | None = None) -> dict[str, Any]:
    server = table.upstream(upstream).servers[0]
    ref: dict[str, Any] = {
        "name": upstream.replace("_", "-"),
        "port": int(server.rsplit(":", 1)[1]),
    }
    if weight is not None:
        ref["weight"] = weight
    return ref


def _path(route: Route) -> dict[str, str]:
    kind = "Exact" if route.match is Match.EXACT else "PathPrefix"
    return {"type": kind, "value": route.path}


def _http_route(
    route: Route, table: RouteTable, namespace: str, parent: list[dict[str, str]]
) -> dict[str, Any]:
    rules = []
    if route.honours_override:
        header = table.gateway.override_header
        for side, upstream in (("new", route.new), ("legacy", route.legacy)):
            match = {"path": _path(route), "headers": [{"type": "Exact", "name": header,
                                                         "value": side}]}  # fmt: skip
            rules.append({"matches": [match], "backendRefs": [_backend(upstream, table)]})
    rules.append(_split_rule(route, table))
    labels = {"strangler.dev/route": route.name, "strangler.dev/mode": str(route.mode)}
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": _metadata(route.name, namespace, labels),
        "spec": {"parentRefs": parent, "rules": rules},
    }


def _split_rule(route: Route, table: RouteTable) -> dict[str, Any]:
    if route.mode is Mode.RETIRED:
        refs = [_backend(route.new, table, _WEIGHT_TOTAL)]
    else:
        refs = [
            _backend(route.legacy, table, _WEIGHT_TOTAL - route.new_percent),
            _backend(route.new, table, route.new_percent),
        ]
    rule: dict[str, Any] = {"matches": [{"path": _path(route)}], "backendRefs": refs}
    if route.mode is Mode.SHADOW:
        mirror = {"backendRef": _backend(route.new, table), "percent": route.mirror_percent}
        rule["filters"] = [{"type": "RequestMirror", "requestMirror": mirror}]
    return rule


def _plain_route(
    name: str,
    prefix: str,
    upstream: str,
    table: RouteTable,
    namespace: str,
    parent: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": _metadata(name, namespace, {"strangler.dev/route": name}),
        "spec": {
            "parentRefs": parent,
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
                    "backendRefs": [_backend(upstream, table)],
                }
            ],
        },
    }


def _grpc_route(
    route: GrpcRoute, table: RouteTable, namespace: str, parent: list[dict[str, str]]
) -> dict[str, Any]:
    matches = [{"method": {"type": "Exact", "service": service}} for service in route.services]
    return {
        "apiVersion": API_VERSION,
        "kind": "GRPCRoute",
        "metadata": _metadata(route.name, namespace, {"strangler.dev/route": route.name}),
        "spec": {
            "parentRefs": parent,
            "rules": [{"matches": matches, "backendRefs": [_backend(route.upstream, table)]}],
        },
    }
