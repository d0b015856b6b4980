"""Percentages that change without a reload: shared memory in nginx, written over a local socket.

A reload closes every idle keep-alive connection of the old workers, and a client that sends its
next request on one at that moment gets no answer; a change of percentage must not cost that.
So the share of users on new (canary) and of reads mirrored (shadow) are read per request by
``weights.js`` from an njs shared dictionary, and ``push_weights`` writes them through the
gateway's control listener (a Unix socket under the prefix: only this machine reaches it).

The route table stays the source of truth: every rendered config carries each route's percentage
as its fallback value, so an nginx started afresh (its dictionary empty) serves the table. Keys
are scoped by the *layout id*, the config's id with every percentage left out: two tables that
differ only in percentages have the same layout, and a change between them is a live write, not a
reload; any other change is structural and reloads, after writing the new layout's weights so its
new workers never read stale ones.
"""

import http.client
import json
import shutil
import socket
from dataclasses import replace
from importlib.resources import files

from nginx.config.api import Block, EmptyBlock, Location

from strangler_gateway.errors import NginxError
from strangler_gateway.nginx.layout import Layout
from strangler_gateway.routetable import Mode, RouteTable

__all__ = [
    "LIVE_CONFIG",
    "control_server",
    "install_script",
    "live_weights",
    "push_weights",
    "weights_directives",
    "without_weights",
]

# The id of the config whose percentages are live: X-Gateway-Config, the status page, the log.
LIVE_CONFIG = "$sf_config"
_ZONE = "sf_weights:1m"
_SCRIPT = "weights.js"
_PATH = "/weights"
# The longest path a Unix socket address can hold (sun_path, with its terminating NUL).
_MAX_SOCKET_PATH = 107


def without_weights(table: RouteTable) -> RouteTable:
    """Return ``table`` with every live percentage zeroed: what its layout id is computed from."""
    routes = tuple(
        replace(route, percent=0) if route.mode in (Mode.CANARY, Mode.SHADOW) else route
        for route in table.routes
    )
    return replace(table, routes=routes)


def live_weights(table: RouteTable) -> dict[str, int]:
    """Return the live percentage of each canary and shadow route."""
    weights = {}
    for route in table.routes:
        if route.mode is Mode.CANARY:
            weights[route.name] = route.new_percent
        elif route.mode is Mode.SHADOW:
            weights[route.name] = route.mirror_percent
    return weights


def weights_directives(layout: Layout, layout_id: str, config_id: str) -> EmptyBlock:
    """Return the http-level directives: the script, the dictionary and the live variables."""
    block = EmptyBlock(
        js_path=str(layout.conf.parent),
        js_import=f"sf_weights from {_SCRIPT}",
        js_shared_dict_zone=f"zone={_ZONE}",
    )
    live = {"sf_live_split": "split", "sf_live_side": "side", "sf_live_sampled": "sampled",
            "sf_config": "config"}  # fmt: skip
    for variable, function in live.items():
        block.sections.add(EmptyBlock(js_set=f"${variable} sf_weights.{function}"))
    block.sections.add(EmptyBlock(js_var=f"$sf_layout {layout_id}"))
    block.sections.add(EmptyBlock(js_var=f"$sf_rendered_config {config_id}"))
    return block


def control_server(layout: Layout) -> Block:
    """Return the control listener: PUT or GET the live weights, on a Unix socket only."""
    path = str(layout.control_socket)
    if len(path.encode()) > _MAX_SOCKET_PATH:
        raise NginxError(f"the prefix is too deep for the control socket {path}")
    server = Block("server", listen=f"unix:{path}", access_log=False)
    server.sections.add(Location(f"= {_PATH}", js_content="sf_weights.control"))
    server.sections.add(Location("/", **{"return": "404"}))
    return server


def install_script(layout: Layout) -> None:
    """Put ``weights.js`` beside the config (nginx -t and every reload read it from there)."""
    source = files("strangler_gateway.nginx").joinpath(_SCRIPT)
    target = layout.conf.parent / _SCRIPT
    text = source.read_text(encoding="utf-8")
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        with source.open("rb") as data, target.with_suffix(".tmp").open("wb") as out:
            shutil.copyfileobj(data, out)
        target.with_suffix(".tmp").replace(target)


def push_weights(layout: Layout, layout_id: str, config_id: str, weights: dict[str, int]) -> None:
    """Write the weights and config id of ``layout_id`` into the running gateway's memory."""
    body = json.dumps({"layout": layout_id, "config": config_id, "weights": weights})
    connection = _UnixConnection(str(layout.control_socket))
    try:
        connection.request("PUT", _PATH, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
    except OSError as exc:
        raise NginxError(f"the gateway's control socket did not take the weights: {exc}") from exc
    finally:
        connection.close()
    if response.status != 204:
        raise NginxError(f"the gateway refused the weights: {response.status} {answer[:200]!r}")


class _UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix socket (the gateway's control listener)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=5.0)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except OSError:
            # Not yet ours to close through the connection: a refused socket would leak.
            sock.close()
            raise
        self.sock = sock
