"""The gateway's part of the trace: W3C trace context, baggage and the JSON access log.

The gateway is the first hop of every trace, yet nginx has no tracer: it derives the context with
``map`` blocks alone, so any nginx with the stock modules can run it.

- The trace id is the client's when its ``traceparent`` is valid (lowercase hex, neither id all
  zeros; version 00 exactly, a later version but ``ff`` by its first four fields), else the request
  id, so an access-log line and its trace share one id.
- A trace the gateway starts is sampled (flags ``01``) for ``trace_sample_percent`` % of requests,
  drawn by hashing the request id, else not (``00``): the services' parent-based samplers follow the
  flag, so one share set here decides for the whole trace. A client's ``traceparent`` keeps its
  flag, and the log's ``sampled`` says which, so the trace store records the gateway's span of
  sampled traces only.
- The gateway's own span id is the second half of the request id (random per request); upstreams
  receive ``00-<trace id>-<gateway span id>-<flags>``, so the gateway is a hop whose parent is the
  client's span. The trace store builds the gateway's span from the access log, which carries both.
- ``tracestate`` passes unchanged with a valid ``traceparent`` and is dropped with the trace it
  belonged to when the gateway restarts the trace (W3C: no ``tracestate`` without its parent).
- ``baggage`` is the client's entries followed by the routing decision (``migration.*``), so every
  service can put the decision on its spans; later entries win, so a client cannot forge them.

The log's ``unit`` is a pseudonym of the user the split keyed on: the bucket and two more salted
hashes of the sticky key, one cell in a million. ``strangler stats`` counts users by it (the split
assigns users, not requests, so users are what its check must count) while the log never holds a
cookie or a user id.
"""

from nginx.config.api import Block, EmptyBlock, KeyMultiValueOption, KeyValueOption

from strangler_gateway.nginx.directives import quoted, split_clients
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.routetable import IDEMPOTENT_METHODS

__all__ = [
    "GRPC_LOG",
    "HTTP_LOG",
    "access_log_formats",
    "trace_context_maps",
    "unit_splits",
    "upstream_context",
]

HTTP_LOG = "sf_json"
GRPC_LOG = "sf_grpc_json"
# A trace id and a parent span id, neither all zeros.
_IDS = "(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}"
# Version 00 is exactly four fields. A later version (ff is forbidden) may append fields; it is read
# by its ids and the sampled bit of its flags, the only parts version 00 knows, and sent as 00.
_VERSION_00 = f"^00-{_IDS}-[0-9a-f]{{2}}$"
# The flags a later version is sent on with, by its flags' last hex digit (odd: sampled).
_SAMPLED_DIGITS = {"01": "13579bdf", "00": "02468ace"}
# The client's traceparent once made version 00: its trace id, parent span id and flags.
_CLIENT_TRACEPARENT = "^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$"
# Methods the shadow comparator may replay: reads only.
_MIRRORABLE = ("GET", "HEAD")
# The salts of the unit's two hashes (the bucket is its first part).
_UNIT_SALTS = ("a", "b")

# One line per request (the format gateway/README.md documents, which the trace store reads).
# Values are nginx expressions; quoted ones are JSON strings.
_HTTP_FIELDS = {
    "time": '"$sf_time_seconds.$sf_time_millis$sf_time_zone"',
    "request_id": '"$request_id"',
    "trace_id": '"$sf_trace_id"',
    "span_id": '"$sf_span_id"',
    "parent_span_id": '"$sf_parent_span_id"',
    "method": '"$request_method"',
    "uri": '"$request_uri"',
    "status": "$status",
    "route": '"$sf_route"',
    "mode": '"$sf_mode"',
    "target": '"$sf_target"',
    "bucket": "$sf_bucket",
    "unit": quoted(".".join(["$sf_bucket", *(f"$sf_unit_{salt}" for salt in _UNIT_SALTS)])),
    "fallback": "$sf_log_fallback",
    "upstream_addr": '"$upstream_addr"',
    "upstream_status": '"$upstream_status"',
    "request_time": "$request_time",
    "upstream_response_time": '"$upstream_response_time"',
    "user_agent": '"$http_user_agent"',
    "config": '"{config}"',
    # The route's configured share on new and the tester's forced side, so
    # `strangler stats` compares the observed split with the split that was live.
    "split": "$sf_log_split",
    "override": '"$sf_override"',
    # Whether the trace is sampled (its flags' sampled bit): the trace store builds the gateway's
    # span from sampled lines only, as the services record sampled requests only.
    "sampled": "$sf_sampled",
}
# gRPC is routed by service, not split: no bucket, no side; the gRPC status is in the trailers
# (or in the headers of a trailers-only answer).
_GRPC_FIELDS = {
    **_HTTP_FIELDS,
    "mode": '"grpc"',
    "target": '""',
    "bucket": '""',
    "unit": '""',
    "fallback": "false",
    "split": "0",
    "override": '""',
    "grpc_status": '"$sent_trailer_grpc_status$sent_http_grpc_status"',
}


def trace_context_maps(sample_percent: float) -> EmptyBlock:
    """Return the maps deriving trace ids, span id, flags, baggage and the log's timestamp.

    ``sample_percent`` is the share of the traces the gateway starts that are sampled.
    """
    new_flags, draw = _new_trace_flags(sample_percent)
    return EmptyBlock(
        _client_traceparent_map(),
        _traceparent_map("$sf_client_trace_id", 1, ""),
        _traceparent_map("$sf_parent_span_id", 2, ""),
        *draw,
        _traceparent_map("$sf_trace_flags", 3, new_flags),
        Block("map $sf_trace_flags $sf_sampled", default="false",
              **{quoted(f"~[{_SAMPLED_DIGITS['01']}]$"): "true"}),
        Block("map $sf_client_trace_id $sf_trace_id", default="$sf_client_trace_id",
              **{'""': "$request_id"}),
        # A restarted trace drops the client's tracestate: its entries belong to another trace.
        Block("map $sf_client_trace_id $sf_tracestate", default="$http_tracestate",
              **{'""': '""'}),
        Block("map $request_id $sf_span_id", default="$request_id",
              **{quoted("~^[0-9a-f]{16}([0-9a-f]{16})$"): "$1"}),
        Block("map $http_baggage $sf_client_baggage", default=quoted("${http_baggage},"),
              **{'""': '""'}),
        _method_map("$sf_idempotent", IDEMPOTENT_METHODS),
        _method_map("$sf_mirrorable", _MIRRORABLE),
        # $time_iso8601 has whole seconds; $msec adds the milliseconds of the same instant.
        Block("map $time_iso8601 $sf_time_seconds", default="$time_iso8601",
              **{quoted("~^(.{19})"): "$1"}),
        Block("map $time_iso8601 $sf_time_zone", default='""', **{quoted("~^.{19}(.*)$"): "$1"}),
        Block("map $msec $sf_time_millis", default="000", **{quoted("~[.]([0-9]{3})$"): "$1"}),
        # The log's numbers must be numbers even where no route location set them (a 404 of the
        # gateway's own): `set` runs per location, since a server-level `set` would also run in
        # mirror subrequests, which share the user's variables, and reset them.
        Block("map $sf_fallback $sf_log_fallback", default="$sf_fallback", **{'""': "false"}),
        # The live share (weights.js), which is the split that really applied to the request.
        Block("map $sf_live_split $sf_log_split", default="$sf_live_split", **{'""': "0"}),
    )  # fmt: skip


def _new_trace_flags(sample_percent: float) -> tuple[str, list[Block]]:
    """Return the flags of a trace the gateway starts, and the block that draws them, if any.

    At 100 % (or 0) every new trace is sampled (or none). Between, a ``split_clients`` on the
    request id (salted, so the draw is independent of the shadow comparator's) sets
    ``$sf_new_trace_flags``; nginx's split takes shares in steps of 0.01 %, the route table's too.
    """
    if sample_percent >= 100 or sample_percent <= 0:
        return ("01" if sample_percent >= 100 else "00"), []
    variable = "$sf_new_trace_flags"
    block = Block(f'split_clients "trace:${{request_id}}" {variable}')
    # The remainder ("*") must come last: nginx takes the first part whose share holds the hash.
    block.sections.add(KeyValueOption(f"{sample_percent:g}%", "01"))
    block.sections.add(KeyValueOption("*", "00"))
    return variable, [block]


def unit_splits() -> EmptyBlock:
    """Return the salted hashes of the sticky key that, after the bucket, make the log's unit."""
    return EmptyBlock(
        *(split_clients(f"{salt}:${{sf_user_key}}", f"$sf_unit_{salt}") for salt in _UNIT_SALTS)
    )


def _client_traceparent_map() -> Block:
    version = "(?!00|ff)[0-9a-f]{2}"
    later = {
        quoted(f"~^{version}-({_IDS})-[0-9a-f][{digits}](-.*)?$"): quoted(f"00-$1-{flags}")
        for flags, digits in _SAMPLED_DIGITS.items()
    }
    return Block(
        "map $http_traceparent $sf_client_traceparent",
        default='""',
        **{quoted(f"~{_VERSION_00}"): "$http_traceparent", **later},
    )


def _traceparent_map(variable: str, group: int, default: str) -> Block:
    return Block(
        f"map $sf_client_traceparent {variable}",
        default=default or '""',
        **{quoted(f"~{_CLIENT_TRACEPARENT}"): f"${group}"},
    )


def _method_map(variable: str, methods: tuple[str, ...]) -> Block:
    return Block(f"map $request_method {variable}", default='""', **dict.fromkeys(methods, "1"))


def upstream_context(*, baggage: bool = True) -> list[list[str]]:
    """Return the [header, value] pairs every proxied request carries."""
    headers = [
        ["traceparent", quoted("00-$sf_trace_id-$sf_span_id-$sf_trace_flags")],
        # An empty value (a restarted trace, or none sent) sends no header at all.
        ["tracestate", "$sf_tracestate"],
        ["X-Request-Id", "$request_id"],
    ]
    if baggage:
        decision = ",".join(
            f"migration.{key}=$sf_{key}" for key in ("route", "mode", "target", "bucket")
        )
        value = f"${{sf_client_baggage}}{decision},migration.fallback=$sf_fallback"
        headers.append(["baggage", quoted(value)])
    return headers


def access_log_formats(layout: Layout, config: str, *, grpc: bool) -> EmptyBlock:
    """Return the JSON log formats (HTTP, and gRPC when it is served) and the HTTP access log."""
    # Each directive in an EmptyBlock of its own: the builder keys sections by directive name.
    block = EmptyBlock(EmptyBlock(_log_format(HTTP_LOG, _HTTP_FIELDS, config)))
    if grpc:
        block.sections.add(EmptyBlock(_log_format(GRPC_LOG, _GRPC_FIELDS, config)))
    block.sections.add(
        EmptyBlock(KeyMultiValueOption("access_log", [str(layout.access_log), HTTP_LOG]))
    )
    return block


def _log_format(name: str, fields: dict[str, str], config: str) -> KeyMultiValueOption:
    body = ",".join(f'"{key}":{value.format(config=config)}' for key, value in fields.items())
    return KeyMultiValueOption("log_format", [name, "escape=json", f"'{{{body}}}'"])
