"""Small builders of nginx directives shared by the renderer's modules."""

from collections.abc import Mapping, Sequence

from nginx.config.api import Block, EmptyBlock
from nginx.config.api.options import KeyValuesMultiLines
from nginx.config.helpers import duplicate_options

__all__ = [
    "BUCKETS",
    "add_headers",
    "error_json",
    "header_var",
    "if_return",
    "quoted",
    "repeated",
    "sets",
    "split_clients",
]

# split_clients' slices: 100 of 1 % each, numbered 0..99.
BUCKETS = 100


def repeated(directive: str, values: Sequence[Sequence[str] | str]) -> EmptyBlock:
    """Return ``directive`` once per value, in order."""
    return duplicate_options(directive, [list(v) if not isinstance(v, str) else v for v in values])


def add_headers(headers: Mapping[str, str]) -> EmptyBlock:
    """Return ``add_header NAME VALUE always`` per header (on error responses too)."""
    return repeated("add_header", [[name, value, "always"] for name, value in headers.items()])


def sets(values: Mapping[str, str]) -> EmptyBlock:
    """Return ``set $name value`` per entry, in order (rewrite directives run in order)."""
    return repeated(
        "set", [[name, value if value != "" else '""'] for name, value in values.items()]
    )


def if_return(condition: str, status: int, body: str | None = None) -> Block:
    """Return ``if (condition) { return status [body]; }``."""
    value = [str(status)] if body is None else [str(status), f"'{body}'"]
    return Block(f"if ({condition})", **{"return": value})


def header_var(header: str) -> str:
    """Return the nginx variable suffix of a request header (``X-User-Id`` -> ``x_user_id``)."""
    return header.lower().replace("-", "_")


def quoted(value: str) -> str:
    """Return ``value`` in double quotes, for an nginx argument with ``${var}`` or spaces."""
    return f'"{value}"'


def error_json(code: str, message: str) -> str:
    """Return the project's error envelope as compact JSON, with the request's id."""
    # The request id is also the trace id of the request's trace and the key of its log line.
    return f'{{"error":{{"code":"{code}","message":"{message}","request_id":"$request_id"}}}}'


def split_clients(key: str, variable: str) -> Block:
    """Return a ``split_clients`` hashing ``key`` into ``variable``, one of BUCKETS equal slices."""
    block = Block(f'split_clients "{key}" {variable}')
    block.sections.add(KeyValuesMultiLines("1%", [str(bucket) for bucket in range(BUCKETS)]))
    return block
