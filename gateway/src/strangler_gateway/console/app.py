"""The migration console: an ASGI app the gateway serves at ``/console/``.

Pages are rendered on the server (Jinja templates, inline SVG charts, one small script and one
stylesheet served from this package: nothing from a CDN). Open pages stay current through
server-sent events: one stream per page, fed from one in-memory view of the access log that is
refreshed at most once per push interval whoever is watching.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from strangler_gateway.console import pages
from strangler_gateway.console.access import visitor
from strangler_gateway.console.live import LiveTraffic
from strangler_gateway.console.overview import Overview, build_overview
from strangler_gateway.console.settings import ConsoleSettings
from strangler_gateway.errors import GatewayError
from strangler_gateway.routetable import load_route_table
from strangler_gateway.shadow.models import MISSING

__all__ = ["PATH", "create_app"]

PATH = "/console"
_HERE = Path(__file__).parent


class Snapshot:
    """The overview, rebuilt at most once per push interval however many pages ask.

    A change to the route table (a staff action here, the command line, a rollout) rebuilds it
    at once: a page opened right after a change must not show the routes as they were.
    """

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.live = LiveTraffic(settings.layout.access_log, keep_seconds=settings.window_seconds)
        self._taken = 0.0
        self._overview: Overview | None = None
        self._table_version: tuple[int, int, int] | None = None

    def overview(self) -> Overview:
        """Return the current overview (re-read when older than the push interval)."""
        now = time.monotonic()
        # The table is replaced by a rename: a new inode, or a new mtime and size.
        stat = self.settings.routes.stat()
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        stale = now - self._taken >= self.settings.push_seconds / 2
        if self._overview is None or stale or version != self._table_version:
            self.live.refresh()
            table = load_route_table(self.settings.routes)
            self._overview = build_overview(
                table,
                self.live.entries(),
                window_seconds=self.settings.window_seconds,
                buckets=self.settings.buckets,
            )
            self._taken, self._table_version = now, version
        return self._overview


def create_app(settings: ConsoleSettings) -> Starlette:
    """Return the console app for the gateway described by ``settings``."""
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.globals["base"] = PATH
    templates.env.filters["shown"] = shown
    snapshot = Snapshot(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Faults are read from the services directly, never through a proxy from the environment.
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            app.state.client = client
            yield

    app = Starlette(
        routes=[
            Route("/healthz", read_health, methods=["GET"]),
            Mount(
                PATH,
                routes=[
                    Route("/", pages.read_overview, methods=["GET"]),
                    Route("/events", read_events, methods=["GET"]),
                    Route("/routes/{name}", pages.read_route, methods=["GET"]),
                    Route("/routes/{name}/confirm", pages.confirm_action, methods=["GET"]),
                    Route("/routes/{name}/actions/{action}", pages.do_action, methods=["POST"]),
                    Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
                ],
            ),
        ],
        lifespan=lifespan,
        exception_handlers={GatewayError: on_gateway_error},
    )
    app.state.settings, app.state.templates, app.state.snapshot = settings, templates, snapshot
    return app


def shown(value: Any) -> str:
    """Return a value of a JSON answer as JSON, or "(absent)" when that side did not have it."""
    if value is MISSING:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, indent=1)


async def read_health(request: Request) -> JSONResponse:
    """Answer 200: the console is up."""
    return JSONResponse({"status": "ok"})


async def on_gateway_error(request: Request, exc: Exception) -> Response:
    """Show a route table or gateway problem as a page, never a traceback."""
    return pages.problem(request, 503, "The gateway's state cannot be read", str(exc))


async def read_events(request: Request) -> Response:
    """Stream the live part of a page (the overview, or one route's figures) as it changes."""
    settings: ConsoleSettings = request.app.state.settings
    if settings.staff_to_read and not visitor(request, settings.identity_secret).staff:
        return pages.refusal(request, visitor(request, settings.identity_secret).reason)
    route = request.query_params.get("route")
    return StreamingResponse(
        _events(request, route),
        media_type="text/event-stream",
        # Not buffered by nginx (a proxy would hold the events back) nor cached.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, route: str | None) -> AsyncIterator[str]:
    settings: ConsoleSettings = request.app.state.settings
    while not await request.is_disconnected():
        html = await pages.live_fragment(request, route)
        yield _event("live", html)
        await asyncio.sleep(settings.push_seconds)


def _event(name: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"
