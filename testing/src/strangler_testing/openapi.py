"""The OpenAPI document a client of the gateway sees, composed from the route table.

The gateway has no document of its own: each path is answered by the service the route table
sends it to, plus the errors nginx answers itself. A fuzzer pointed at the gateway needs exactly
that picture, so this module builds it from the same route table the gateway was rendered from
and the gateway's own error pages, instead of reusing one service's document and excluding what
does not fit.
"""

import copy
from collections.abc import Mapping
from typing import Any

from strangler_gateway.nginx.errors import ALLOWED_METHODS
from strangler_gateway.routetable.model import Auth, Match, Mode, Route, RouteTable

__all__ = ["gateway_document"]

_METHODS = {method.strip().lower() for method in ALLOWED_METHODS.split(",")}

# What nginx answers itself before or instead of the upstream, for any request it routes.
_ANY_REQUEST = {
    "400": "The request is malformed.",
    "414": "The request URL is too long.",
    "421": "The request names a host the gateway does not serve.",
    "429": "Too many requests from this client: retry after Retry-After seconds.",
    "431": "The request headers are too large.",
}
_WITH_BODY = {"413": "The request body is larger than this route accepts."}
_NEEDS_USER = {"401": "This route needs a signed-in user."}

_SCHEMAS = "#/components/schemas/"

_GATEWAY_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
            },
        }
    },
}


def gateway_document(
    table: RouteTable, documents: Mapping[str, Mapping[str, Any]], *, title: str = "gateway"
) -> dict[str, Any]:
    """Return the document of what the gateway answers, given each upstream's own document."""
    catch_all = documents[table.gateway.catch_all]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"GatewayError": _GATEWAY_ERROR}
    for upstream, original in documents.items():
        # Two services may name different schemas alike: each keeps its own under its name.
        document = _renamed(original, f"{upstream}_")
        for path, operations in document.get("paths", {}).items():
            route = _route_for(table, path)
            if _serving_upstream(route, table) != upstream:
                continue
            paths[path] = _with_gateway_errors(operations, route)
        schemas.update(document.get("components", {}).get("schemas", {}))
    return {
        "openapi": catch_all.get("openapi", "3.1.0"),
        "info": {"title": title, "version": catch_all.get("info", {}).get("version", "0")},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _renamed(document: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    own = document.get("components", {}).get("schemas", {})
    renamed = _with_refs(copy.deepcopy(dict(document)), prefix)
    renamed["components"] = {
        "schemas": {
            prefix + name: _with_refs(schema, prefix) for name, schema in copy.deepcopy(own).items()
        }
    }
    return renamed


def _with_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                _SCHEMAS + prefix + value[len(_SCHEMAS) :]
                if key == "$ref" and isinstance(value, str) and value.startswith(_SCHEMAS)
                else _with_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_with_refs(item, prefix) for item in node]
    return node


def _route_for(table: RouteTable, path: str) -> Route | None:
    # nginx picks the longest matching prefix; an exact match beats every prefix.
    matching = [route for route in table.routes if _claims(route, path)]
    exact = [route for route in matching if route.match is Match.EXACT]
    if exact:
        return exact[0]
    return max(matching, key=lambda route: len(route.path), default=None)


def _claims(route: Route, path: str) -> bool:
    if route.match is Match.EXACT:
        return path == route.path
    return path.startswith(route.path)


def _serving_upstream(route: Route | None, table: RouteTable) -> str:
    if route is None:
        return table.gateway.catch_all
    if route.mode in (Mode.LEGACY, Mode.SHADOW):
        return route.legacy
    if route.mode in (Mode.MIGRATED, Mode.RETIRED):
        return route.new
    # A canary answers from either side by user: one document cannot say which.
    raise ValueError(f"route {route.name!r} is a canary: compose the document per side")


def _with_gateway_errors(operations: Mapping[str, Any], route: Route | None) -> dict[str, Any]:
    composed: dict[str, Any] = {}
    for method, operation in operations.items():
        if method not in _METHODS:
            composed[method] = copy.deepcopy(operation)
            continue
        errors = dict(_ANY_REQUEST)
        if "requestBody" in operation:
            errors.update(_WITH_BODY)
        if route is not None and route.auth is Auth.REQUIRED:
            errors.update(_NEEDS_USER)
        composed[method] = _add_responses(operation, errors)
    return composed


def _add_responses(operation: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(dict(operation))
    responses = result.setdefault("responses", {})
    for status, description in errors.items():
        # The service's own description of the status wins: it says more than nginx's.
        responses.setdefault(status, _envelope(description))
    return result


def _envelope(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/GatewayError"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}
