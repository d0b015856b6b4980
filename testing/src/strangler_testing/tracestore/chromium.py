"""Load a page in headless Chromium, keep its DOM or a screenshot, and find colored bars in it.

The screenshot is decoded here (8-bit RGB or RGBA PNG, the only kinds Chromium writes), so a test
needs no imaging library to check that bars of a service's color were drawn, and how long.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

CHROMIUM_TIMEOUT_SECONDS = 90
WINDOW = (1400, 900)
MIN_RUN_PIXELS = 20  # longer than any legend dot: a run this long is a bar
# Headless, offline-safe (no background calls to Google's hosts), and drawn the same every run.
CHROMIUM_FLAGS = (
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
)
_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Color = tuple[int, int, int]
Band = tuple[int, int, int]


def find_chromium() -> str | None:
    """Return the Chromium binary ($CHROMIUM, `chromium` on PATH, Debian's path), if installed."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).is_file() else None


def chromium_or_skip() -> str:
    """Return the Chromium binary, or skip the calling test saying how to install it."""
    import pytest  # only tests call this

    found = find_chromium()
    if found is not None:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    pytest.skip("chromium is not installed: run `make browser` (it uses apt-get)")


def dump_dom(chromium: str, url: str) -> str:
    """Return the DOM Chromium holds once it has loaded url."""
    return _run(chromium, "--dump-dom", url).decode()


def screenshot(chromium: str, url: str, path: Path) -> None:
    """Save a WINDOW-sized screenshot of url as a PNG at path."""
    _run(chromium, f"--screenshot={path}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url)


def _run(chromium: str, *args: str) -> bytes:
    """Run headless Chromium with a fresh profile; return its stdout, failing on an error exit."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        result = subprocess.run(
            command, capture_output=True, timeout=CHROMIUM_TIMEOUT_SECONDS, check=False
        )
    if result.returncode != 0:
        raise AssertionError(result.stderr.decode(errors="replace")[-2000:])
    return result.stdout


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG into (width, height, rows of RGB bytes)."""
    if data[:8] != _SIGNATURE:
        raise ValueError("not a PNG")
    chunks = _chunks(data)
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if (depth, interlace) != (8, 0) or color_type not in (2, 6):
        raise ValueError("unexpected PNG format")
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


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """Return each chunk type's data, the IDAT chunks joined in order."""
    chunks: dict[bytes, bytes] = {}
    position = len(_SIGNATURE)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks[kind] = chunks.get(kind, b"") + data[position + 8 : position + 8 + length]
        position += 12 + length
    return chunks


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> bytearray:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth) in place."""
    if kind == 0:
        return line
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = previous[i]
        c = previous[i - bpp] if i >= bpp else 0
        line[i] = (line[i] + _predictor(kind, a, b, c)) & 0xFF
    return line


def _predictor(kind: int, a: int, b: int, c: int) -> int:
    """Return what filter type kind predicts from left (a), above (b) and upper left (c)."""
    if kind == 1:
        return a
    if kind == 2:
        return b
    if kind == 3:
        return (a + b) >> 1
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _drop_alpha(line: bytearray) -> bytes:
    return bytes(value for index, value in enumerate(line) if index % 4 != 3)


def bands(rows: list[bytes], color: Color) -> list[Band]:
    """Return (first row, last row, longest run) of each vertical band of bar-length color runs."""
    pixel = bytes(color)
    found: list[Band] = []
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
