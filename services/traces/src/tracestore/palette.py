"""One color per service, shared by the browser waterfall and the terminal timeline.

A reader learns "green is core" once and then reads every trace, in either view, at a glance. The
project's own services have fixed colors; any other service gets one from a fallback palette by a
stable hash of its name, so it keeps its color across traces and restarts.
"""

from __future__ import annotations

import hashlib

SERVICE_COLORS = {
    "gateway": "#5b6b82",
    "core": "#2f855a",
    "rag": "#3b6fd8",
    "webhooks": "#d97706",
    "shadow": "#8b5cf6",
    "traces": "#6b7280",
}
FALLBACK_COLORS = (
    "#db2777",
    "#0891b2",
    "#65a30d",
    "#b45309",
    "#7c3aed",
    "#0f766e",
    "#be123c",
    "#4f46e5",
)


def service_color(service: str) -> str:
    """Return the "#rrggbb" color of a service."""
    known = SERVICE_COLORS.get(service)
    if known is not None:
        return known
    digest = hashlib.blake2s(service.encode("utf-8"), digest_size=2).digest()
    return FALLBACK_COLORS[int.from_bytes(digest, "big") % len(FALLBACK_COLORS)]


def rgb(color: str) -> tuple[int, int, int]:
    """Return the (red, green, blue) bytes of a "#rrggbb" color."""
    value = int(color.removeprefix("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF
