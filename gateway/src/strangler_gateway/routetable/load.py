"""Read routes.toml from disk (or text) into a validated RouteTable.

The two entry points every consumer uses; the checks themselves are in ``parse``, the objects in
``model``.
"""

from pathlib import Path

from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable.model import RouteTable
from strangler_gateway.routetable.parse import parse_table

__all__ = ["load_route_table", "parse_route_table"]


def load_route_table(path: Path) -> RouteTable:
    """Read and validate the route table at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RouteTableError(f"{path}: cannot read the route table: {exc.strerror}") from exc
    return parse_route_table(text, source=str(path))


def parse_route_table(text: str, *, source: str = "routes.toml") -> RouteTable:
    """Validate route-table TOML ``text``; ``source`` names it in error messages."""
    return parse_table(text, source)
