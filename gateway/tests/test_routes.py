"""The route table loads, and every kind of mistake is refused with its file, line and field."""

from pathlib import Path

import pytest
from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable import (
    Auth,
    Compare,
    Match,
    Mode,
    load_route_table,
    parse_route_table,
)

SHIPPED = Path(__file__).resolve().parents[1] / "routes.toml"

HEAD = """\
[gateway]
listen = "127.0.0.1:8080"
catch_all = "core"

[upstreams.core]
servers = ["127.0.0.1:8000"]

[upstreams.rag]
servers = ["127.0.0.1:8001"]
"""

SHADOW = """
[upstreams.shadow]
servers = ["127.0.0.1:8090"]
"""

GRPC_HEAD = HEAD.replace("[gateway]", '[gateway]\ngrpc_listen = "127.0.0.1:9090"')

SEARCH = """
[[routes]]
name = "search"
path = "/api/search"
legacy = "core"
new = "rag"
"""


def test_the_shipped_table_describes_the_initial_migration() -> None:
    table = load_route_table(SHIPPED)
    modes = {
        route.name: (route.path, route.legacy, route.new, route.mode) for route in table.routes
    }
    assert modes == {
        "search": ("/api/search", "core", "rag", Mode.LEGACY),
        "chat": ("/api/chat", "core", "rag", Mode.LEGACY),
        "me": ("/api/me", "core", "rag", Mode.RETIRED),
        "stripe-webhooks": ("/webhooks/stripe", "core", "webhooks", Mode.MIGRATED),
        "standard-webhooks": ("/webhooks/standard", "core", "webhooks", Mode.RETIRED),
    }
    webhook_routes = [table.route(name) for name in ("stripe-webhooks", "standard-webhooks")]
    assert all(route.resend_posts for route in webhook_routes), "intake is idempotent by event id"
    assert not any(table.route(name).resend_posts for name in ("search", "chat"))
    auth = {route.name: route.auth for route in table.routes}
    assert auth == {"search": Auth.OPTIONAL, "chat": Auth.OPTIONAL, "me": Auth.REQUIRED,
                    "stripe-webhooks": Auth.NONE, "standard-webhooks": Auth.NONE}  # fmt: skip
    assert table.route("chat").streaming, "chat answers stream over SSE"
    assert (table.route("search").compare, table.route("chat").compare) == ("search", "chat")
    assert table.gateway.catch_all == "core"
    assert (table.gateway.listen, table.gateway.grpc_listen) == ("127.0.0.1:8080", "127.0.0.1:9090")
    assert (table.gateway.shadow_upstream, table.gateway.trace_viewer) == ("shadow", "traces")
    assert table.gateway.console == "console"
    assert {u.name: u.servers for u in table.upstreams} == {
        "core": ("127.0.0.1:8000",),
        "rag": ("127.0.0.1:8001",),
        "webhooks": ("127.0.0.1:8002", "127.0.0.1:8003"),
        "core_grpc": ("127.0.0.1:50051",),
        "rag_grpc": ("127.0.0.1:50052",),
        "shadow": ("127.0.0.1:8090",),
        "traces": ("127.0.0.1:4318",),
        "console": ("127.0.0.1:8091",),
        "reflection": ("127.0.0.1:50053",),
    }
    services = {service: entry.upstream for entry in table.grpc for service in entry.services}
    assert services == {
        "strangler.core.v1.CoreService": "core_grpc",
        "grpc.health.v1.Health": "core_grpc",
        "strangler.rag.v1.RagService": "rag_grpc",
        "grpc.reflection.v1.ServerReflection": "reflection",
        "grpc.reflection.v1alpha.ServerReflection": "reflection",
    }


def test_defaults_and_percent_of_a_canary() -> None:
    table = parse_route_table(HEAD + SEARCH + 'mode = "canary"\npercent = 30\n')
    route = table.route("search")
    assert (route.mode, route.percent, route.new_percent) == (Mode.CANARY, 30, 30)
    assert (route.match, route.override, route.streaming) == (Match.PREFIX, True, False)
    assert (route.compare, route.ignore, route.mirror_percent) == (Compare.JSON, (), 0)
    assert table.grpc == () and table.gateway.grpc_listen is None


def test_a_shadow_route_mirrors_its_percent_and_keeps_users_on_legacy() -> None:
    text = HEAD + SHADOW + SEARCH + 'compare = "search"\nignore = ["results[].score", "k"]\n'
    route = parse_route_table(text + 'mode = "shadow"\npercent = 20\n').route("search")
    assert (route.mode, route.mirror_percent, route.new_percent) == (Mode.SHADOW, 20, 0)
    assert (route.compare, route.ignore) == (Compare.SEARCH, ("results[].score", "k"))


def test_grpc_routes_need_a_grpc_listener() -> None:
    grpc = (
        '\n[[grpc]]\nname = "rag"\nservices = ["strangler.rag.v1.RagService"]\nupstream = "rag"\n'
    )
    table = parse_route_table(
        HEAD.replace("[gateway]", '[gateway]\ngrpc_listen = "127.0.0.1:9090"') + grpc
    )
    assert table.grpc[0].services == ("strangler.rag.v1.RagService",)


def test_edges_have_safe_defaults_and_read_their_fields() -> None:
    default = parse_route_table(HEAD + SEARCH + 'mode = "legacy"\n')
    assert (default.routes[0].auth, default.routes[0].max_body) == (Auth.NONE, None)
    assert default.gateway.server_names == ("127.0.0.1", "localhost")
    assert (default.gateway.rate_limit, default.gateway.rate_burst) == ("50r/s", 100)
    edges = parse_route_table(
        HEAD.replace("[gateway]", '[gateway]\nrate_limit = "600r/m"\nrate_burst = 5\n'
                     'server_names = ["example.org"]\nsession_cookie = "sid"')
        + SEARCH + 'auth = "required"\nmax_body = "64k"\nmode = "legacy"\n'
    )  # fmt: skip
    assert (edges.routes[0].auth, edges.routes[0].max_body) == (Auth.REQUIRED, "64k")
    gateway = edges.gateway
    assert (gateway.rate_limit, gateway.rate_burst, gateway.server_names,
            gateway.session_cookie) == ("600r/m", 5, ("example.org",), "sid")  # fmt: skip


def test_the_gateway_samples_every_trace_it_starts_unless_told_a_share() -> None:
    default = parse_route_table(HEAD + SEARCH + 'mode = "legacy"\n')
    assert default.gateway.trace_sample_percent == 100
    for share in (0, 10, 0.5, 12.25, 100):
        table = parse_route_table(
            HEAD.replace("[gateway]", f"[gateway]\ntrace_sample_percent = {share}")
            + SEARCH
            + 'mode = "legacy"\n'
        )
        assert table.gateway.trace_sample_percent == share


def _sampled(value: str) -> str:
    return (
        HEAD.replace("[gateway]", f"[gateway]\ntrace_sample_percent = {value}  # <-")
        + SEARCH
        + 'mode = "legacy"\n'
    )


# Each case marks the line the error must name with "# <-".
BAD_TABLES = {
    "trace share above 100": (_sampled("101"), "field 'trace_sample_percent'", "outside 0..100"),
    "negative trace share": (_sampled("-0.5"), "field 'trace_sample_percent'", "outside 0..100"),
    "trace share finer than nginx splits": (
        _sampled("0.005"),
        "field 'trace_sample_percent'",
        "more than two decimals",
    ),
    "trace share as text": (
        _sampled('"10%"'),
        "field 'trace_sample_percent'",
        "expected a number 0..100",
    ),
    "trace share as a boolean": (
        _sampled("true"),
        "field 'trace_sample_percent'",
        "expected a number 0..100",
    ),
    "unknown auth": (
        HEAD + SEARCH + 'auth = "maybe"  # <-\nmode = "legacy"\n',
        "field 'auth'",
        "one of: none, optional, required",
    ),
    "body size not a size": (
        HEAD + SEARCH + 'max_body = "lots"  # <-\nmode = "legacy"\n',
        "field 'max_body'",
        "invalid value 'lots'",
    ),
    "rate not an nginx rate": (
        HEAD.replace("[gateway]", '[gateway]\nrate_limit = "fast"  # <-')
        + SEARCH
        + 'mode = "legacy"\n',
        "field 'rate_limit'",
        "invalid value 'fast'",
    ),
    "server name with a wildcard": (
        HEAD.replace("[gateway]", '[gateway]\nserver_names = ["*.example.org"]  # <-')
        + SEARCH
        + 'mode = "legacy"\n',
        "field 'server_names'",
        "invalid entry '*.example.org'",
    ),
    "unknown upstream": (
        HEAD + SEARCH.replace('new = "rag"', 'new = "ragg"  # <-') + 'mode = "legacy"\n',
        "field 'new'",
        "unknown upstream 'ragg'",
    ),
    "percent above 100": (
        HEAD + SEARCH + 'mode = "canary"\npercent = 130  # <-\n',
        "field 'percent'",
        "130 is outside 0..100",
    ),
    "negative percent": (
        HEAD + SEARCH + 'mode = "canary"\npercent = -1  # <-\n',
        "field 'percent'",
        "outside 0..100",
    ),
    "percent not a number": (
        HEAD + SEARCH + 'mode = "canary"\npercent = "30"  # <-\n',
        "field 'percent'",
        "expected an integer",
    ),
    "canary without percent": (
        HEAD + SEARCH.replace("[[routes]]", "[[routes]]  # <-") + 'mode = "canary"\n',
        "field 'percent'",
        "missing",
    ),
    "percent on a legacy route": (
        HEAD + SEARCH + 'mode = "legacy"\npercent = 10  # <-\n',
        "field 'percent'",
        "only modes 'canary' and 'shadow' take a percent",
    ),
    "shadow without percent": (
        HEAD + SHADOW + SEARCH.replace("[[routes]]", "[[routes]]  # <-") + 'mode = "shadow"\n',
        "field 'percent'",
        "mode 'shadow' needs percent",
    ),
    "unknown mode": (
        HEAD + SEARCH + 'mode = "blue-green"  # <-\n',
        "field 'mode'",
        "unknown mode 'blue-green'",
    ),
    "shadow without a comparator upstream": (
        HEAD + SEARCH + 'mode = "shadow"  # <-\npercent = 10\n',
        "field 'mode'",
        "comparator upstream 'shadow', which the table does not define",
    ),
    "unknown comparison rule": (
        HEAD + SEARCH + 'compare = "xml"  # <-\nmode = "legacy"\n',
        "field 'compare'",
        "invalid value 'xml' (one of: json, search, chat)",
    ),
    "ignore path that is not a JSON path": (
        HEAD + SEARCH + 'ignore = ["results[*].score"]  # <-\nmode = "legacy"\n',
        "field 'ignore'",
        "invalid entry 'results[*].score'",
    ),
    "stream read timeout under the heartbeat": (
        HEAD.replace('catch_all = "core"', 'catch_all = "core"\nstream_read_seconds = 10  # <-'),
        "field 'stream_read_seconds'",
        "10 is outside 11..86400",
    ),
    "trace viewer on an unknown upstream": (
        HEAD.replace('catch_all = "core"', 'catch_all = "core"\ntrace_viewer = "jaeger"  # <-'),
        "field 'trace_viewer'",
        "unknown upstream 'jaeger'",
    ),
    "grpc listen on the http address": (
        HEAD.replace(
            'catch_all = "core"', 'catch_all = "core"\ngrpc_listen = "127.0.0.1:8080"  # <-'
        ),
        "field 'grpc_listen'",
        "also the HTTP listen address",
    ),
    "grpc route without a grpc listener": (
        HEAD + '\n[[grpc]]  # <-\nname = "rag"\nservices = ["x.v1.S"]\nupstream = "rag"\n',
        "grpc route #1",
        "need [gateway] grpc_listen",
    ),
    "grpc service that is not a protobuf name": (
        GRPC_HEAD
        + '\n[[grpc]]\nname = "rag"\nservices = ["RagService/Search"]  # <-\nupstream = "rag"\n',
        "field 'services'",
        "invalid entry 'RagService/Search'",
    ),
    "grpc service routed twice": (
        GRPC_HEAD
        + '\n[[grpc]]\nname = "a"\nservices = ["x.v1.S"]\nupstream = "rag"\n'
        + '\n[[grpc]]\nname = "b"\nservices = ["x.v1.S"]  # <-\nupstream = "core"\n',
        "field 'services'",
        "'x.v1.S' is already routed by 'a'",
    ),
    "grpc route on an unknown upstream": (
        GRPC_HEAD + '\n[[grpc]]\nname = "a"\nservices = ["x.v1.S"]\nupstream = "nope"  # <-\n',
        "field 'upstream'",
        "unknown upstream 'nope'",
    ),
    "missing mode": (
        HEAD + SEARCH.replace("[[routes]]", "[[routes]]  # <-"),
        "field 'mode'",
        "missing",
    ),
    "misspelt field": (
        HEAD + SEARCH + 'mode = "legacy"\npercnt = 10  # <-\n',
        "field 'percnt'",
        "unknown field",
    ),
    "duplicate path": (
        HEAD
        + SEARCH
        + 'mode = "legacy"\n'
        + SEARCH.replace('"search"', '"search2"').replace(
            'path = "/api/search"', 'path = "/api/search"  # <-'
        )
        + 'mode = "legacy"\n',
        "field 'path'",
        "overlaps route 'search'",
    ),
    "overlapping prefixes": (
        HEAD
        + SEARCH
        + 'mode = "legacy"\n'
        + SEARCH.replace('"search"', '"api"').replace('path = "/api/search"', 'path = "/api"  # <-')
        + 'mode = "legacy"\n',
        "field 'path'",
        "'/api' overlaps route 'search'",
    ),
    "exact path under a prefix route": (
        HEAD
        + SEARCH
        + 'mode = "legacy"\n'
        + SEARCH.replace('"search"', '"one"').replace(
            'path = "/api/search"', 'path = "/api/search/one"  # <-\nmatch = "exact"'
        )
        + 'mode = "legacy"\n',
        "field 'path'",
        "overlaps route 'search'",
    ),
    "duplicate name": (
        HEAD
        + SEARCH
        + 'mode = "legacy"\n'
        + SEARCH.replace('name = "search"', 'name = "search"  # <-').replace("/api/search", "/x")
        + 'mode = "legacy"\n',
        "field 'name'",
        "duplicate route name",
    ),
    "internal path exposed": (
        HEAD
        + SEARCH.replace('path = "/api/search"', 'path = "/internal/x"  # <-')
        + 'mode = "legacy"\n',
        "field 'path'",
        "never routed",
    ),
    "trace viewer path claimed": (
        HEAD
        + SEARCH.replace('path = "/api/search"', 'path = "/traces/x"  # <-')
        + 'mode = "legacy"\n',
        "field 'path'",
        "'/traces/x' overlaps '/traces/'",
    ),
    "unknown catch-all": (
        HEAD.replace('catch_all = "core"', 'catch_all = "django"  # <-'),
        "field 'catch_all'",
        "unknown upstream 'django'",
    ),
    "upstream without servers": (
        HEAD.replace('servers = ["127.0.0.1:8001"]', "servers = []  # <-"),
        "field 'servers'",
        "non-empty list",
    ),
    "upstream idle time of zero": (
        HEAD.replace(
            'servers = ["127.0.0.1:8001"]',
            'servers = ["127.0.0.1:8001"]\nkeepalive_timeout = 0  # <-',
        ),
        "field 'keepalive_timeout'",
        "0 is outside 1..3600",
    ),
    "upstream left out for no time": (
        HEAD.replace(
            'servers = ["127.0.0.1:8001"]',
            'servers = ["127.0.0.1:8001"]\nfail_timeout = 0  # <-',
        ),
        "field 'fail_timeout'",
        "0 is outside 1..3600",
    ),
    "listen without a port": (
        HEAD.replace('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1"  # <-'),
        "field 'listen'",
        "invalid value",
    ),
}


@pytest.mark.parametrize("case", BAD_TABLES, ids=list(BAD_TABLES))
def test_a_bad_table_is_refused_naming_the_line_and_the_field(case: str) -> None:
    text, field, problem = BAD_TABLES[case]
    marked = [n for n, line in enumerate(text.splitlines(), start=1) if line.endswith("# <-")]
    assert len(marked) == 1, "each case marks exactly one line"
    with pytest.raises(RouteTableError) as error:
        parse_route_table(text, source="routes.toml")
    message = str(error.value)
    assert message.startswith(f"routes.toml:{marked[0]}: "), message
    assert field in message
    assert problem in message


def test_invalid_toml_is_refused_with_its_line() -> None:
    with pytest.raises(RouteTableError, match=r"not valid TOML: .*line 3"):
        parse_route_table('[gateway]\nlisten = "x"\nmode = = 1\n', source="routes.toml")


def test_a_missing_file_is_a_route_table_error(tmp_path: Path) -> None:
    with pytest.raises(RouteTableError, match="cannot read the route table"):
        load_route_table(tmp_path / "absent.toml")


def test_asking_for_an_unknown_route_lists_the_known_ones() -> None:
    table = parse_route_table(HEAD + SEARCH + 'mode = "legacy"\n')
    with pytest.raises(RouteTableError, match=r"no route named 'chat' \(routes: search\)"):
        table.route("chat")
