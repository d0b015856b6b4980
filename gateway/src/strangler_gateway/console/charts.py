"""Small inline SVG charts: a series of numbers drawn as a line, with no script and no library.

Inline SVG renders in any browser with nothing to download, so the console's charts work offline
and arrive in the same HTML as the figures they illustrate.
"""

from collections.abc import Sequence
from html import escape

__all__ = ["sparkline"]

WIDTH, HEIGHT, PAD = 120, 28, 2


def sparkline(values: Sequence[float | None], *, label: str, css_class: str = "") -> str:
    """Return an SVG line of ``values`` (gaps where None), scaled from 0 to their maximum."""
    known = [value for value in values if value is not None]
    top = max(known, default=0.0) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    paths: list[list[str]] = []
    current: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            paths.append(current)
            current = []
            continue
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top
        current.append(f"{PAD + index * step:.1f},{y:.1f}")
    paths.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(points)}"/>' if len(points) > 1 else _dot(points)
        for points in paths
        if points
    )
    title = escape(label)
    return (
        f'<svg class="spark {escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{title}"><title>{title}</title>{lines}</svg>'
    )


def _dot(points: list[str]) -> str:
    x, y = points[0].split(",")
    return f'<circle cx="{x}" cy="{y}" r="1.5"/>'
