"""Build route tables for tests from data, instead of each test keeping its own TOML text.

Every gateway test needs a ``[gateway]`` table, a few ``[upstreams.<name>]`` and some
``[[routes]]``; the servers written here are placeholders, which the test runners replace with
the real addresses of the stand-ins they started.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomlkit

__all__ = ["route", "route_table", "write_route_table"]

_PLACEHOLDER_PORT = 8000


def route(name: str, path: str, *, legacy: str, new: str, **fields: Any) -> dict[str, Any]:
    """Return one ``[[routes]]`` entry (``mode``, ``percent``, ``streaming``... as keywords)."""
    return {"name": name, "path": path, "legacy": legacy, "new": new, **fields}


def route_table(
    upstreams: Iterable[str],
    routes: Iterable[Mapping[str, Any]],
    *,
    catch_all: str | None = None,
    grpc: Iterable[Mapping[str, Any]] = (),
    **gateway: Any,
) -> str:
    """Return the TOML text of a table: ``upstreams`` on placeholder ports, then ``routes``.

    ``catch_all`` defaults to the first upstream; ``grpc`` entries become ``[[grpc]]``; other
    keywords are ``[gateway]`` settings.
    """
    names = list(upstreams)
    document = tomlkit.document()
    document["gateway"] = {
        "listen": "127.0.0.1:8080",
        "catch_all": catch_all or names[0],
        # Tests send thousands of requests from one client without a key: far past the shipped
        # per-client rate limit, which only the tests of the limit itself set.
        "rate_limit": "100000r/s",
        "rate_burst": 100000,
        **gateway,
    }
    table = tomlkit.table(is_super_table=True)
    for number, name in enumerate(names):
        table[name] = {"servers": [f"127.0.0.1:{_PLACEHOLDER_PORT + number}"]}
    document["upstreams"] = table
    entries = tomlkit.aot()
    for entry in routes:
        entries.append(tomlkit.item(dict(entry)))
    if entries:
        document["routes"] = entries
    services = tomlkit.aot()
    for entry in grpc:
        services.append(tomlkit.item(dict(entry)))
    if services:
        document["grpc"] = services
    return tomlkit.dumps(document)


def write_route_table(path: Path, text: str) -> Path:
    """Write a table's text to ``path`` and return the path."""
    path.write_text(text)
    return path
