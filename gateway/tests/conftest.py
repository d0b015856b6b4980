"""Fixtures: a route table of the gateway's own, stand-in upstreams, and a real nginx running it."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from strangler_testing.gateway import EchoUpstream, RunningGateway, running_gateway

TABLE = """\
# A route table for the gateway's own tests.
[gateway]
listen = "127.0.0.1:8080"
catch_all = "monolith"
sticky_cookie = "sf_uid"
sticky_header = "X-User-Id"
override_header = "X-Migration-Target"
max_stream_seconds = 30
stream_read_seconds = 20
trace_viewer = "traces"
# These tests send bursts from one client without a key; the rate limit has tests of its own.
rate_limit = "100000r/s"
rate_burst = 100000

[upstreams.monolith]
servers = ["127.0.0.1:8000"]

[upstreams.service]
servers = ["127.0.0.1:8001"]

[upstreams.shadow]
servers = ["127.0.0.1:8090"]

[upstreams.traces]
servers = ["127.0.0.1:4318"]

[[routes]]
name = "search"
path = "/api/search"
legacy = "monolith"
new = "service"
override = true
{search}

[[routes]]
name = "hooks"
path = "/webhooks/stripe"
legacy = "monolith"
new = "service"
override = false
mode = "migrated"

[[routes]]
name = "gone"
path = "/api/old"
match = "exact"
legacy = "monolith"
new = "service"
mode = "retired"

[[routes]]
name = "stream"
path = "/api/chat/stream"
legacy = "monolith"
new = "service"
streaming = true
{stream}
"""

MakeGateway = Callable[..., RunningGateway]
LEGACY = 'mode = "legacy"'
CANARY_30 = 'mode = "canary"\npercent = 30'


def table_text(search: str = 'mode = "legacy"', stream: str = 'mode = "legacy"') -> str:
    """Return the test table with the search and stream routes' mode lines set."""
    return TABLE.format(search=search, stream=stream)


@pytest.fixture
def write_table(tmp_path: Path) -> Callable[[str], Path]:
    """Return a function writing a table's text to a file and returning its path."""

    def write(text: str) -> Path:
        path = tmp_path / "routes.toml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def upstreams() -> Iterator[dict[str, EchoUpstream]]:
    """Start the stand-ins: the monolith (legacy), the new service, the comparator, the traces."""
    with (
        EchoUpstream("legacy") as legacy,
        EchoUpstream("new") as new,
        EchoUpstream("shadow", status=202) as shadow,
        EchoUpstream("traces") as traces,
    ):
        yield {"monolith": legacy, "service": new, "shadow": shadow, "traces": traces}


@pytest.fixture
def make_gateway(
    tmp_path: Path, upstreams: dict[str, EchoUpstream], write_table: Callable[[str], Path]
) -> Iterator[MakeGateway]:
    """Return a function starting a real nginx for the search (and stream) route's mode lines."""
    with ExitStack() as stack:

        def make(search: str = LEGACY, stream: str = LEGACY, gateway: str = "") -> RunningGateway:
            """``gateway``: lines added to the table's [gateway] section."""
            servers = {name: [upstream.address] for name, upstream in upstreams.items()}
            text = table_text(search, stream).replace("[gateway]\n", f"[gateway]\n{gateway}\n", 1)
            table = write_table(text)
            return stack.enter_context(running_gateway(table, tmp_path / "nginx", servers))

        yield make
