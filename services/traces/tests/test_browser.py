"""The waterfall as a browser draws it: headless Chromium loads the trace page of a real trace.

The DOM Chromium ends up with must hold a bar with a width for every span, and the screenshot must
show those bars in their services' colors, one horizontal band per span. Chromium is Debian's
package (`make browser` installs it); without it, and without apt-get to install it, the test is
skipped and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tracestore.palette import rgb, service_color

CHROMIUM_TIMEOUT_SECONDS = 90
WINDOW = (1400, 900)
MIN_RUN_PIXELS = 20  # longer than any legend dot: a run this long is a bar
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
]


@pytest.fixture
def chromium() -> str:
    """Return the Chromium binary, or skip the test explaining what is missing."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(found).is_file():
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    pytest.skip("chromium is not installed: run `make browser` (it uses apt-get)")


def _run_chromium(chromium: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium with a fresh profile and return its output."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
        result = subprocess.run(
            command, capture_output=True, timeout=CHROMIUM_TIMEOUT_SECONDS, check=False
        )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG into (width, height, rows of RGB bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks[kind] = chunks.get(kind, b"") + data[position + 8 : position + 8 + length]
        position += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace, color_type in (2, 6)) == (8, 0, True), "unexpected PNG format"
    channels = 3 if color_type == 2 else 4
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        line = _unfilter(raw[start], line, previous, channels)
        rows.append(bytes(line) if channels == 3 else _drop_alpha(line))
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> bytearray:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth) in place."""
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(len(line)):
            line[i] = (line[i] + previous[i]) & 0xFF
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + predictor) & 0xFF
    return line


def _drop_alpha(line: bytearray) -> bytes:
    return bytes(value for index, value in enumerate(line) if index % 4 != 3)


def bands(rows: list[bytes], color: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Return (first row, last row, longest run) of each vertical band of bar-length color runs."""
    pixel = bytes(color)
    found: list[tuple[int, int, int]] = []
    for y, row in enumerate(rows):
        run = _longest_run(row, pixel)
        if run < MIN_RUN_PIXELS:
            continue
        if found and found[-1][1] == y - 1:
            first, _, longest = found[-1]
            found[-1] = (first, y, max(longest, run))
        else:
            found.append((y, y, run))
    return found


def _longest_run(row: bytes, pixel: bytes) -> int:
    longest = current = 0
    for x in range(0, len(row), 3):
        current = current + 1 if row[x : x + 3] == pixel else 0
        longest = max(longest, current)
    return longest


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
    screenshot = tmp_path / "waterfall.png"

    dom = _run_chromium(chromium, "--dump-dom", url).stdout.decode()
    _run_chromium(
        chromium, f"--screenshot={screenshot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url
    )

    for service, name in recorded.spans:
        assert f'data-service="{service}" data-name="{name}"' in dom
    assert '<dd data-key="route">suggestions</dd>' in dom
    assert '<dd data-key="target" class="target legacy">legacy</dd>' in dom
    widths = [float(width) for width in _bar_widths(dom)]
    assert len(widths) == len(recorded.spans)
    assert all(width > 0 for width in widths)
    width, height, rows = read_png(screenshot.read_bytes())
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

    dom = _run_chromium(chromium, "--dump-dom", url).stdout.decode()

    opened = re.search(rf'<details class="row( [a-z]+)*" id="span-{span}"[^>]*>', dom)
    assert opened, "the linked span's row is missing"
    assert " open" in opened.group(0)
    assert "target" in opened.group(0)
    assert len(re.findall(r"<details[^>]* open", dom)) == 1
