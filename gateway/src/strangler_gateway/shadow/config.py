"""What the comparator compares: each route's two upstreams and rule, read from the route table.

The comparator reads the same ``routes.toml`` as the gateway, so a route put in shadow mode with
``strangler mode`` is compared with the rule written next to it. The table is re-read when the
file changes (a running comparator follows ``strangler`` edits); an invalid edit keeps the last
good table, as the gateway itself does. ``--upstream NAME=HOST:PORT`` replaces an upstream's
servers, as for ``strangler serve``.
"""

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable import ADDRESS, Compare, RouteTable, load_route_table
from strangler_gateway.shadow.models import ShadowError
from strangler_gateway.shadow.rules import DEFAULT_MIN_OVERLAP

__all__ = [
    "ComparatorSettings",
    "ShadowTarget",
    "TargetTable",
    "parse_upstream_overrides",
    "targets_of",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComparatorSettings:
    """How the comparator runs: where it records, its time budget, its queue and workers."""

    db: Path
    # Time for all three calls of one comparison; past it the comparison is a timeout, not a diff.
    budget_seconds: float = 2.0
    workers: int = 4
    # Comparisons waiting for a worker; when full, new ones are dropped (and counted).
    queue_size: int = 100
    min_overlap: float = DEFAULT_MIN_OVERLAP


@dataclass(frozen=True)
class ShadowTarget:
    """One route as the comparator sees it: where legacy and new listen, and how to compare."""

    route: str
    legacy: tuple[str, ...]
    new: tuple[str, ...]
    rule: Compare = Compare.JSON
    ignore: tuple[str, ...] = ()


def parse_upstream_overrides(pairs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Return ``{name: servers}`` from ``NAME=HOST:PORT`` options (a name repeats per server)."""
    overrides: dict[str, list[str]] = {}
    for pair in pairs:
        name, _, server = pair.partition("=")
        if not name or not _is_address(server):
            raise ShadowError(f"--upstream {pair!r}: expected NAME=HOST:PORT")
        overrides.setdefault(name, []).append(server)
    return {name: tuple(servers) for name, servers in overrides.items()}


def _is_address(text: str) -> bool:
    return re.fullmatch(ADDRESS, text) is not None


def targets_of(
    table: RouteTable, overrides: Mapping[str, Sequence[str]] | None = None
) -> dict[str, ShadowTarget]:
    """Return every route of ``table`` as a comparison target, with ``overrides`` applied."""
    overrides = overrides or {}
    unknown = set(overrides) - {upstream.name for upstream in table.upstreams}
    if unknown:
        raise ShadowError(f"--upstream names unknown upstream(s): {', '.join(sorted(unknown))}")

    def servers(name: str) -> tuple[str, ...]:
        return tuple(overrides.get(name) or table.upstream(name).servers)

    return {
        route.name: ShadowTarget(
            route=route.name,
            legacy=servers(route.legacy),
            new=servers(route.new),
            rule=route.compare,
            ignore=route.ignore,
        )
        for route in table.routes
    }


class TargetTable:
    """The comparison targets of a route table, re-read whenever its file changes."""

    def __init__(
        self,
        targets: Mapping[str, ShadowTarget],
        *,
        path: Path | None = None,
        overrides: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._targets = dict(targets)
        self._path = path
        self._overrides = dict(overrides or {})
        self._stamp = _stamp(path)
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, path: Path, overrides: Mapping[str, Sequence[str]] | None = None
    ) -> "TargetTable":
        """Read the route table at ``path``; the result follows later edits of the file."""
        return cls(targets_of(load_route_table(path), overrides), path=path, overrides=overrides)

    def get(self, route: str) -> ShadowTarget | None:
        """Return the target for ``route``, re-reading the table first if its file changed."""
        self._refresh()
        return self._targets.get(route)

    def _refresh(self) -> None:
        if self._path is None:
            return
        stamp = _stamp(self._path)
        if stamp is None or stamp == self._stamp:
            return
        with self._lock:
            self._stamp = stamp
            try:
                self._targets = targets_of(load_route_table(self._path), self._overrides)
            except (RouteTableError, ShadowError) as error:
                logger.warning("route table not reloaded, keeping the last good one: %s", error)
            else:
                logger.info("route table %s reloaded", self._path)


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """Return what tells that a file changed (mtime and size), None if there is no file."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
