"""Change one route's mode in routes.toml without losing the file's comments or layout.

The route table is reviewed in git like code; a traffic change made from the command line must
show up as a one-line diff, not a reformatted file. The edited text is validated as a whole before
it is returned, so an invalid change never reaches the disk.
"""

from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from strangler_gateway.errors import RouteTableError
from strangler_gateway.routetable.load import parse_route_table
from strangler_gateway.routetable.model import Mode, Route

__all__ = ["RouteChange", "change_route_mode"]


@dataclass(frozen=True)
class RouteChange:
    """A route before and after an edit, and the edited file's text."""

    before: Route
    after: Route
    text: str


def change_route_mode(
    table_path: Path, route_name: str, mode: str, percent: int | None = None
) -> RouteChange:
    """Return the table at ``table_path`` with ``route_name`` set to ``mode`` (and ``percent``)."""
    source = str(table_path)
    text = table_path.read_text(encoding="utf-8")
    before = parse_route_table(text, source=source).route(route_name)
    doc = _parse(text, source)
    _set_mode(_route_table(doc, route_name), mode, percent)
    edited = tomlkit.dumps(doc)
    after = parse_route_table(edited, source=source).route(route_name)
    return RouteChange(before=before, after=after, text=edited)


def _parse(text: str, source: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise RouteTableError(f"{source}: not valid TOML: {exc}") from exc


def _route_table(doc: tomlkit.TOMLDocument, route_name: str) -> Table:
    for table in doc.get("routes", []):
        if isinstance(table, Table) and table.get("name") == route_name:
            return table
    raise RouteTableError(f"no route named '{route_name}'")


def _set_mode(table: Table, mode: str, percent: int | None) -> None:
    takes_percent = mode in set(Mode) and Mode(mode).takes_percent
    if takes_percent and percent is None:
        raise RouteTableError(f"mode '{mode}' needs a percent (0..100)")
    if not takes_percent and percent is not None:
        raise RouteTableError(
            f"only modes 'canary' and 'shadow' take a percent (asked for '{mode}')"
        )
    table["mode"] = mode
    if percent is not None:
        table["percent"] = percent
    elif "percent" in table:
        del table["percent"]
