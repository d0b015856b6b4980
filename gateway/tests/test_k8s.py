"""The Gateway API manifests: the same route table, and the schema rules they rely on.

The rules are those of the standard-channel CRDs (gateway.networking.k8s.io/v1 HTTPRoute and
GRPCRoute): the OpenAPI bounds and patterns, plus the CEL validations the API server applies on top
(a Service backend needs a port, a PathPrefix value has no trailing slash, a mirror filter carries
its config). They are encoded here so the check runs anywhere, with no cluster and no network.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from strangler_gateway.k8s import API_VERSION, render_k8s, render_k8s_objects
from strangler_gateway.routetable import RouteTable, load_route_table, parse_route_table

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "gateway" / "routes.toml"
MANIFESTS = ROOT / "infra" / "k8s" / "routes.yaml"

# metadata.name: a DNS-1123 subdomain.
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# HTTPHeaderName: the RFC 7230 token characters, 1..256 long.
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
# GRPCMethodMatch.service: a dotted protobuf name.
_GRPC_SERVICE = re.compile(r"\.?[a-zA-Z_][a-zA-Z_0-9]*(\.[a-zA-Z_][a-zA-Z_0-9]*)*")


def _check_backend(ref: dict[str, Any], where: str) -> list[str]:
    problems = []
    if not 1 <= len(ref.get("name", "")) <= 253:
        problems.append(f"{where}.name must be 1..253 characters")
    port = ref.get("port")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(f"{where}.port is required for a Service and must be 1..65535")
    weight = ref.get("weight", 1)
    if not isinstance(weight, int) or not 0 <= weight <= 1_000_000:
        problems.append(f"{where}.weight must be an integer 0..1000000")
    return problems


def _check_path(path: dict[str, Any], where: str) -> list[str]:
    problems = []
    kind, value = path.get("type", "PathPrefix"), path.get("value", "/")
    if kind not in ("Exact", "PathPrefix", "RegularExpression"):
        problems.append(f"{where}.type {kind!r} is not Exact, PathPrefix or RegularExpression")
    if not value.startswith("/") or len(value) > 1024:
        problems.append(f"{where}.value must start with '/' and be at most 1024 characters")
    if kind == "PathPrefix" and value != "/" and value.endswith("/"):
        problems.append(f"{where}.value must not end with '/' for a PathPrefix")
    if any(part in value for part in ("//", "/./", "/../", "%2f", "%2F", "#")):
        problems.append(f"{where}.value must be a normalised path")
    return problems


def _check_headers(headers: list[dict[str, Any]], where: str) -> list[str]:
    problems = []
    if len(headers) > 16:
        problems.append(f"{where} has more than 16 header matches")
    names = [header.get("name", "") for header in headers]
    if len({name.lower() for name in names}) != len(names):
        problems.append(f"{where} matches a header name twice")
    for index, header in enumerate(headers):
        name, value = header.get("name", ""), header.get("value", "")
        if not _HEADER_NAME.fullmatch(name) or len(name) > 256:
            problems.append(f"{where}[{index}].name {name!r} is not a header name")
        if header.get("type", "Exact") not in ("Exact", "RegularExpression"):
            problems.append(f"{where}[{index}].type must be Exact or RegularExpression")
        if not 1 <= len(value) <= 4096:
            problems.append(f"{where}[{index}].value must be 1..4096 characters")
    return problems


def _check_filters(filters: list[dict[str, Any]], where: str) -> list[str]:
    problems = []
    for index, item in enumerate(filters):
        if item.get("type") == "RequestMirror":
            mirror = item.get("requestMirror")
            if not isinstance(mirror, dict) or "backendRef" not in mirror:
                problems.append(f"{where}[{index}] RequestMirror needs requestMirror.backendRef")
                continue
            problems += _check_backend(mirror["backendRef"], f"{where}[{index}].backendRef")
            if not 0 <= mirror.get("percent", 100) <= 100 or {"percent", "fraction"} <= set(mirror):
                problems.append(f"{where}[{index}] percent must be 0..100 (and not with fraction)")
    return problems


def _check_rule(rule: dict[str, Any], where: str, kind: str) -> list[str]:
    problems = []
    matches, refs = rule.get("matches", []), rule.get("backendRefs", [])
    if len(matches) > 64 or len(refs) > 16 or len(rule.get("filters", [])) > 16:
        problems.append(f"{where}: at most 64 matches, 16 backendRefs and 16 filters")
    for index, match in enumerate(matches):
        at = f"{where}.matches[{index}]"
        if kind == "HTTPRoute":
            problems += _check_path(match.get("path", {}), f"{at}.path")
            problems += _check_headers(match.get("headers", []), f"{at}.headers")
        else:
            method = match.get("method", {})
            if not (method.get("service") or method.get("method")):
                problems.append(f"{at}.method needs a service or a method")
            if not _GRPC_SERVICE.fullmatch(method.get("service", "x")):
                problems.append(f"{at}.method.service is not a protobuf service name")
    for index, ref in enumerate(refs):
        problems += _check_backend(ref, f"{where}.backendRefs[{index}]")
    problems += _check_filters(rule.get("filters", []), f"{where}.filters")
    return problems


def schema_problems(obj: dict[str, Any]) -> list[str]:
    """Return what the Gateway API schema would refuse in ``obj`` (empty when it is valid)."""
    problems = []
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") not in ("HTTPRoute", "GRPCRoute"):
        return [f"not a {API_VERSION} HTTPRoute or GRPCRoute"]
    name = obj.get("metadata", {}).get("name", "")
    if not _DNS_SUBDOMAIN.fullmatch(name) or len(name) > 253:
        problems.append(f"metadata.name {name!r} is not a DNS subdomain")
    spec = obj.get("spec", {})
    parents = spec.get("parentRefs", [])
    if not 1 <= len(parents) <= 32 or any(not 1 <= len(p.get("name", "")) <= 253 for p in parents):
        problems.append("spec.parentRefs needs 1..32 references with names")
    rules = spec.get("rules", [])
    if not 1 <= len(rules) <= 16:
        problems.append("spec.rules needs 1..16 rules")
    for index, rule in enumerate(rules):
        problems += _check_rule(rule, f"spec.rules[{index}]", obj["kind"])
    return problems


def _documents() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(MANIFESTS.read_text()))


def test_the_committed_manifests_are_rendered_from_the_shipped_table() -> None:
    expected = render_k8s(load_route_table(SHIPPED))
    assert MANIFESTS.read_text() == expected, (
        "infra/k8s/routes.yaml is stale: run `uv run strangler k8s --out infra/k8s/routes.yaml`"
    )


def test_every_committed_object_passes_the_schema_rules() -> None:
    documents = _documents()
    assert {doc["kind"] for doc in documents} == {"HTTPRoute", "GRPCRoute"}
    for document in documents:
        assert schema_problems(document) == [], document["metadata"]["name"]


def _table(search_mode: str) -> RouteTable:
    """Return the shipped table with the search route in ``search_mode``."""
    shipped = 'ignore = ["results[].score"]\nmode = "legacy"'
    text = SHIPPED.read_text().replace(shipped, f'ignore = ["results[].score"]\n{search_mode}')
    return parse_route_table(text)


def _search(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(obj for obj in objects if obj["metadata"]["name"] == "search")


@pytest.mark.parametrize(
    "mode",
    ['mode = "legacy"', 'mode = "shadow"\npercent = 10', 'mode = "canary"\npercent = 30',
     'mode = "migrated"', 'mode = "retired"'],
)  # fmt: skip
def test_every_mode_renders_valid_objects(mode: str) -> None:
    for obj in render_k8s_objects(_table(mode)):
        assert schema_problems(obj) == [], (mode, obj["metadata"]["name"])


def test_the_split_is_a_weighted_pair_and_the_override_a_header_match() -> None:
    search = _search(render_k8s_objects(_table('mode = "canary"\npercent = 30')))
    forced_new, forced_legacy, split = search["spec"]["rules"]
    header = {"type": "Exact", "name": "X-Migration-Target", "value": "new"}
    assert forced_new["matches"][0]["headers"] == [header]
    assert forced_new["backendRefs"] == [{"name": "rag", "port": 8001}]
    assert forced_legacy["backendRefs"] == [{"name": "core", "port": 8000}]
    assert split["backendRefs"] == [{"name": "core", "port": 8000, "weight": 70},
                                    {"name": "rag", "port": 8001, "weight": 30}]  # fmt: skip
    assert split["matches"] == [{"path": {"type": "PathPrefix", "value": "/api/search"}}]


def test_shadow_mirrors_its_share_to_new() -> None:
    rule = _search(render_k8s_objects(_table('mode = "shadow"\npercent = 10')))["spec"]["rules"][-1]
    mirror = {"backendRef": {"name": "rag", "port": 8001}, "percent": 10}
    assert rule["filters"] == [{"type": "RequestMirror", "requestMirror": mirror}]
    assert [ref["weight"] for ref in rule["backendRefs"]] == [100, 0], "users stay on legacy"


def test_a_route_without_override_has_no_header_rules() -> None:
    hooks = next(d for d in _documents() if d["metadata"]["name"] == "stripe-webhooks")
    assert len(hooks["spec"]["rules"]) == 1
    assert hooks["spec"]["rules"][0]["backendRefs"] == [
        {"name": "core", "port": 8000, "weight": 0},
        {"name": "webhooks", "port": 8002, "weight": 100},
    ]


def test_grpc_services_become_grpc_routes_to_their_owner() -> None:
    grpc = {d["metadata"]["name"]: d for d in _documents() if d["kind"] == "GRPCRoute"}
    rule = grpc["rag-grpc"]["spec"]["rules"][0]
    assert rule["matches"] == [
        {"method": {"type": "Exact", "service": "strangler.rag.v1.RagService"}}
    ]
    assert rule["backendRefs"] == [{"name": "rag-grpc", "port": 50052}]


@pytest.mark.parametrize(("case", "problem"), [
    ("negative weight", "weight must be"),
    ("no port", "port is required"),
    ("header name with a space", "is not a header name"),
    ("prefix with a trailing slash", "must not end with '/'"),
    ("name with capitals", "not a DNS subdomain"),
    ("too many rules", "1..16 rules"),
])  # fmt: skip
def test_the_rules_refuse_what_the_schema_refuses(case: str, problem: str) -> None:
    search = _search(_documents())
    rules = search["spec"]["rules"]
    if case == "negative weight":
        rules[-1]["backendRefs"][0]["weight"] = -1
    elif case == "no port":
        del rules[-1]["backendRefs"][0]["port"]
    elif case == "header name with a space":
        rules[0]["matches"][0]["headers"][0]["name"] = "X Target"
    elif case == "prefix with a trailing slash":
        rules[-1]["matches"][0]["path"]["value"] = "/api/search/"
    elif case == "name with capitals":
        search["metadata"]["name"] = "Search_Route"
    else:
        search["spec"]["rules"] = rules * 6
    problems = schema_problems(search)
    assert any(problem in text for text in problems), problems
