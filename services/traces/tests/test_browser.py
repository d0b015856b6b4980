"""The waterfall as a browser draws it: headless Chromium loads the trace page of a real trace.

The DOM Chromium ends up with must hold a bar with a width for every span, and the screenshot must
show those bars in their services' colors, one horizontal band per span. Chromium is Debian's
package (`make browser` installs it); without it, and without apt-get to install it, the test is
skipped and says why.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from strangler_testing.tracestore import (
    WINDOW,
    bands,
    chromium_or_skip,
    dump_dom,
    read_png,
    screenshot,
)
from tracestore.palette import rgb, service_color


@pytest.fixture
def chromium() -> str:
    """Return the Chromium binary, or skip the test explaining what is missing."""
    return chromium_or_skip()


def test_png_reader_decodes_every_filter() -> None:
    width, height = 12, 5
    scanlines = [
        b"".join(bytes([(x * 37 + y * 11) % 256, (y * 53) % 256, 255 - x]) for x in range(width))
        for y in range(height)
    ]
    previous = [bytes(width * 3), *scanlines[:-1]]
    # Row y uses filter type y: None, Sub, Up, Average, Paeth.
    filtered = b"".join(
        bytes([kind]) + _filter(kind, line, above)
        for kind, line, above in zip(range(height), scanlines, previous, strict=True)
    )

    assert read_png(_png(width, height, filtered)) == (width, height, scanlines)


def _filter(kind: int, line: bytes, previous: bytes) -> bytes:
    """Apply a PNG filter (the encoder's side), to check the decoder against all five."""
    out = bytearray()
    for i, value in enumerate(line):
        a = line[i - 3] if i >= 3 else 0
        b, c = previous[i], previous[i - 3] if i >= 3 else 0
        p = a + b - c
        paeth = (
            a
            if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c)
            else (b if abs(p - b) <= abs(p - c) else c)
        )
        predictor = [0, a, b, (a + b) >> 1, paeth][kind]
        out.append((value - predictor) & 0xFF)
    return bytes(out)


def _png(width: int, height: int, filtered: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return (
        signature
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(filtered))
        + chunk(b"IEND", b"")
    )


def test_chromium_renders_the_waterfall_of_a_real_trace(
    chromium: str, recorded_trace: Any, tmp_path: Path
) -> None:
    store, recorded = recorded_trace
    url = f"{store.base_url}/traces/trace/{recorded.trace_id}"
    picture = tmp_path / "waterfall.png"

    dom = dump_dom(chromium, url)
    screenshot(chromium, url, picture)

    for service, name in recorded.spans:
        assert f'data-service="{service}" data-name="{name}"' in dom
    assert '<dd data-key="route">suggestions</dd>' in dom
    assert '<dd data-key="target" class="target legacy">legacy</dd>' in dom
    widths = [float(width) for width in _bar_widths(dom)]
    assert len(widths) == len(recorded.spans)
    assert all(width > 0 for width in widths)
    width, height, rows = read_png(picture.read_bytes())
    assert (width, height) == WINDOW
    per_service = Counter(service for service, _ in recorded.spans)
    found = {service: bands(rows, rgb(service_color(service))) for service in per_service}
    # One band of bar-colored pixels per span of the service, each at least a bar's height.
    assert {service: len(found[service]) for service in per_service} == dict(per_service)
    for service_bands in found.values():
        assert all(last - first + 1 >= 10 for first, last, _ in service_bands)
    gateway_run = found["gateway"][0][2]
    select_run = found["core"][1][2]  # SELECT core_customer: 8 ms of the trace's 115 ms
    assert gateway_run > 600
    assert select_run / gateway_run == pytest.approx(8 / 115, abs=0.02)


def _bar_widths(dom: str) -> list[str]:
    return re.findall(r'class="bar"[^>]*style="left:[0-9.]+%;width:([0-9.]+)%', dom)


def test_chromium_opens_the_span_a_link_points_at(chromium: str, recorded_trace: Any) -> None:
    store, recorded = recorded_trace
    span = recorded.gateway_span_id
    url = f"{store.base_url}/trace/{recorded.trace_id}#span-{span}"

    dom = dump_dom(chromium, url)

    opened = re.search(rf'<details class="row( [a-z]+)*" id="span-{span}"[^>]*>', dom)
    assert opened, "the linked span's row is missing"
    assert " open" in opened.group(0)
    assert "target" in opened.group(0)
    assert len(re.findall(r"<details[^>]* open", dom)) == 1
