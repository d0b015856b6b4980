"""The console's settings: where it reads the gateway's state and who may read or act.

Given on the command line by whoever starts the console (the local runner, a deployment); the
identity secret comes from the environment, like every other secret of the project.
"""

from dataclasses import dataclass, field
from pathlib import Path

from strangler_gateway.nginx.layout import Layout

__all__ = ["ConsoleSettings"]


@dataclass(frozen=True)
class ConsoleSettings:
    """Everything the console reads and how it decides who may read and act."""

    routes: Path
    prefix: Path
    shadow_db: Path
    # The key core signs identities with (STRANGLER_IDENTITY_SECRET): the console verifies the
    # gateway's X-Identity with it and derives its CSRF tokens from it.
    identity_secret: bytes
    # Production: reading needs a staff session too (locally reading is open).
    staff_to_read: bool = False
    # The recent window of the overview, in equal buckets for the charts.
    window_seconds: float = 300.0
    buckets: int = 30
    # Seconds between two live updates pushed to open pages.
    push_seconds: float = 2.0
    # name -> base URL of services whose fault flags the overview shows (GET /internal/faults).
    fault_sources: dict[str, str] = field(default_factory=dict)
    service_token: str = ""

    @property
    def layout(self) -> Layout:
        """Return the gateway's file layout under its nginx prefix."""
        return Layout.at(self.prefix)
