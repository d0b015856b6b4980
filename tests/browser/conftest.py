"""A headless Chromium driven over the DevTools protocol, with no network beyond 127.0.0.1.

The trace store's helper runs Chromium once per page (``--dump-dom``, ``--screenshot``); the
console's tests must also sign in, click and read what a page shows after its scripts ran, so
this drives one browser over its DevTools websocket. Every request to a host other than
127.0.0.1 is sent to a proxy that does not exist and every host name fails to resolve: a page
that needs a CDN or an external font shows it by not rendering.
"""

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from strangler_testing.tracestore import chromium_or_skip
from strangler_testing.tracestore.chromium import CHROMIUM_FLAGS
from websockets.sync.client import ClientConnection, connect

WINDOW = (1400, 1000)
_OFFLINE_FLAGS = (
    # Nothing but the loopback address: no DNS, and any other address goes to a dead proxy.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)
_FLAGS = (*CHROMIUM_FLAGS, "--remote-debugging-port=0")


class Browser:
    """One page of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.requests: list[str] = []
        self.failed: list[str] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result, recording network events meanwhile."""
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == number:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._record(message)

    def _record(self, message: dict[str, Any]) -> None:
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif message.get("method") == "Network.loadingFailed":
            self.failed.append(params.get("errorText", ""))

    def evaluate(self, expression: str) -> Any:
        """Return the value of a JavaScript expression in the page (awaiting a promise)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy, failing after the deadline."""
        deadline = time.monotonic() + seconds
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{expression!r} still {value!r} after {seconds} s")

    def open(self, url: str) -> None:
        """Load ``url`` and wait until the document has loaded."""
        self.send("Page.navigate", url=url)
        self.wait_for(
            f"document.readyState === 'complete' && location.href.startsWith({json.dumps(url)})"
        )

    def text(self, selector: str = "body") -> str:
        """Return the text of the first element matching ``selector`` ("" when none)."""
        return str(
            self.evaluate(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''")
        )

    def click(self, selector: str) -> None:
        """Click the first element matching ``selector`` (it must exist)."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.click(); return true; })()"
        )
        assert found, f"nothing matches {selector!r}"

    def set_cookie(self, url: str, name: str, value: str) -> None:
        """Give the browser a cookie for ``url`` (a signed-in session)."""
        self.send("Network.setCookie", url=url, name=name, value=value)

    def clear_cookies(self) -> None:
        """Forget every cookie (sign out)."""
        self.send("Network.clearBrowserCookies")

    def screenshot(self, path: Path) -> None:
        """Save what the page shows now as a PNG."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def outside_requests(self) -> list[str]:
        """Return the URLs the page asked for that are not on 127.0.0.1."""
        local = ("http://127.0.0.1", "data:", "blob:", "about:")
        return [url for url in self.requests if not url.startswith(local)]


def _debugging_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        if process.poll() is not None:
            raise AssertionError(f"chromium exited with {process.returncode}")
        time.sleep(0.05)
    raise AssertionError("chromium did not open its DevTools port within 30 s")


def _page_socket_url(port: int) -> str:
    targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
    return str(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium page that can reach 127.0.0.1 and nothing else."""
    chromium = chromium_or_skip()
    profile = Path(tempfile.mkdtemp(prefix="chromium-console-"))
    command = [
        chromium,
        *_FLAGS,
        *_OFFLINE_FLAGS,
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _debugging_port(profile, process)
        with connect(_page_socket_url(port), max_size=64 * 1024 * 1024) as socket:
            page = Browser(socket)
            page.send("Page.enable")
            page.send("Network.enable")
            page.send(
                "Emulation.setDeviceMetricsOverride",
                width=WINDOW[0], height=WINDOW[1], deviceScaleFactor=1, mobile=False,
            )  # fmt: skip
            yield page
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session's screenshots go: $SCREENSHOTS_DIR to keep them for a person to see."""
    chosen = os.environ.get("SCREENSHOTS_DIR")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
