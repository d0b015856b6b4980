"""Where the gateway keeps its files under an nginx prefix.

The renderer, the process controller and ``apply`` must agree on every path (the live config, the
pid file nginx writes and ``reload`` reads, the logs the tests and the console read), so the paths
are defined once, here.
"""

import json
import os
import pwd
import tempfile
from dataclasses import dataclass
from pathlib import Path

TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` by a rename, keeping its permissions: no half-written file."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    if path.exists():
        os.chmod(name, path.stat().st_mode & 0o777)
    os.replace(name, path)


@dataclass(frozen=True)
class Layout:
    """The files of one gateway instance, all under ``prefix``."""

    prefix: Path

    @classmethod
    def at(cls, prefix: Path) -> "Layout":
        """Return the layout under ``prefix`` (made absolute: nginx resolves paths itself)."""
        return cls(prefix.resolve())

    @property
    def conf(self) -> Path:
        return self.prefix / "conf" / "nginx.conf"

    @property
    def state(self) -> Path:
        """The render parameters of the live config, reused by later applies."""
        return self.prefix / "conf" / "render.json"

    @property
    def pid(self) -> Path:
        return self.prefix / "nginx.pid"

    @property
    def logs(self) -> Path:
        return self.prefix / "logs"

    @property
    def access_log(self) -> Path:
        return self.logs / "access.log"

    @property
    def error_log(self) -> Path:
        return self.logs / "error.log"

    @property
    def stderr_log(self) -> Path:
        """Where a controlled nginx's own stderr goes (start-up errors before logs are open)."""
        return self.logs / "nginx.stderr.log"

    def temp(self, kind: str) -> Path:
        return self.prefix / "temp" / kind

    def cache(self, kind: str) -> Path:
        """Where nginx caches ``kind`` (the session checks), created by nginx itself."""
        return self.prefix / "cache" / kind

    def worker_user(self) -> str | None:
        """Return who the workers must run as: the prefix's owner when nginx starts as root.

        A root master hands its workers to nginx's built-in user (often "nobody"), who cannot
        write request bodies and large responses to temp files under a private prefix.
        """
        if os.geteuid() != 0:
            return None
        owner = self.prefix.stat().st_uid if self.prefix.exists() else 0
        return pwd.getpwuid(owner).pw_name

    def create(self) -> None:
        """Create the folders nginx expects to exist (it creates the ones inside them itself)."""
        for folder in (self.conf.parent, self.logs, self.prefix / "temp", self.prefix / "cache"):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class RenderState:
    """The render parameters a running gateway was started with (free ports in tests, say).

    ``strangler shift`` re-renders the live config from the route table; without these it would
    silently point a test gateway back at the default ports.
    """

    listen: str | None = None
    upstream_overrides: dict[str, list[str]] | None = None
    grpc_listen: str | None = None

    @classmethod
    def read(cls, layout: Layout) -> "RenderState":
        """Return the saved parameters, or the defaults when none were saved."""
        if not layout.state.is_file():
            return cls()
        data = json.loads(layout.state.read_text())
        return cls(
            listen=data.get("listen"),
            upstream_overrides=data.get("upstream_overrides"),
            grpc_listen=data.get("grpc_listen"),
        )

    def write(self, layout: Layout) -> None:
        """Save the parameters next to the live config."""
        data = {
            "listen": self.listen,
            "upstream_overrides": self.upstream_overrides,
            "grpc_listen": self.grpc_listen,
        }
        write_atomically(layout.state, json.dumps(data, indent=2, sort_keys=True) + "\n")
