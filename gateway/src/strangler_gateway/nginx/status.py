"""Know which config a running gateway serves.

A reload is asynchronous: nginx answers SIGHUP at once and swaps workers later, or keeps the old
ones when the new config cannot be applied (a port already taken, say). Each rendered config
carries an id in its header and on the gateway's status page; waiting until the page shows the new
id is how a start or reload is known to have taken effect.
"""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from strangler_gateway.errors import NginxError
from strangler_gateway.nginx.render import STATUS_PATH

_HEADER = re.compile(r"^# config (?P<id>[0-9a-f]+) listen (?P<listen>\S+)$", re.MULTILINE)
# After a reload the nginx master starts the new workers and gives them 100 ms before it tells the
# old ones to stop accepting: for that moment both generations take new connections. Seeing the new
# id on every fresh connection for longer than that means the old workers no longer accept.
_CONFIRMATIONS = 3
_CONFIRM_SECONDS = 0.25
_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class ConfigHeader:
    """The id and listen address a rendered config declares in its header."""

    config_id: str
    listen: str

    @classmethod
    def parse(cls, text: str) -> "ConfigHeader":
        """Return the header of rendered config ``text``."""
        match = _HEADER.search(text)
        if match is None:
            raise NginxError("the config has no '# config <id> listen <address>' header")
        return cls(match["id"], match["listen"])

    @classmethod
    def read(cls, conf: Path) -> "ConfigHeader":
        """Return the header of the config file at ``conf``."""
        try:
            return cls.parse(conf.read_text(encoding="utf-8"))
        except OSError as exc:
            raise NginxError(f"no gateway config at {conf}: run `strangler check` first") from exc

    @property
    def status_url(self) -> str:
        """Return the URL of the status page of a gateway serving this config."""
        host, port = self.listen.rsplit(":", 1)
        if host in ("0.0.0.0", "*", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}{STATUS_PATH}"


def served_config(url: str) -> str | None:
    """Return the config id the gateway at ``url`` reports, or None if it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (our own URL)
            return str(json.loads(response.read())["config"])
    except (OSError, ValueError, KeyError):
        return None


def wait_for_config(header: ConfigHeader, *, timeout: float, is_alive: Callable[[], bool]) -> None:
    """Return once the gateway serves ``header``'s config; raise NginxError at the deadline."""
    deadline = time.monotonic() + timeout
    seen, since = 0, 0.0
    while time.monotonic() < deadline:
        if not is_alive():
            raise NginxError("nginx exited")
        if served_config(header.status_url) != header.config_id:
            seen = 0
        else:
            seen, since = seen + 1, since if seen else time.monotonic()
            if seen >= _CONFIRMATIONS and time.monotonic() - since >= _CONFIRM_SECONDS:
                return
        time.sleep(_POLL_SECONDS)
    raise NginxError(
        f"nginx did not serve config {header.config_id} on {header.listen} within {timeout:g}s"
    )
