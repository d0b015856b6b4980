"""The browser waterfall: the list of recent traces and one trace's span timeline, as HTML pages.

The pages are rendered on the server from the store, with autoescaping on (span names and attribute
values come from any process that can reach the receiver), and every address in them is relative.
So the same pages work opened on the store's own port (http://127.0.0.1:4318/) and behind the
gateway under /traces/, whether the gateway strips that prefix or passes it through: the routes are
mounted at both / and /traces/. Styles and the small script are files of this package; the pages
fetch nothing from anywhere else, which the Content-Security-Policy header enforces.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tracestore import params
from tracestore.gatewaylog import VIEWER_PREFIX
from tracestore.store import TraceStore
from tracestore.timeline import routing_decision
from tracestore.web.views import format_ms, trace_list_rows, trace_page

PREFIX = VIEWER_PREFIX
_TRACE_ID_PREFIX = re.compile(r"[0-9a-fA-F]{1,32}")
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@cache
def _templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("tracestore.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["ms"] = format_ms
    return environment


def _page(template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = _templates().get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


async def read_trace_list(request: Request) -> HTMLResponse:
    """Show the recent traces: filtered by route, side, service, status and duration; sorted."""
    store = _store(request)
    choices = await run_in_threadpool(_choices, store)
    query = dict(request.query_params)
    context: dict[str, Any] = {"root": "", "query": query, **choices}
    try:
        limit = params.limit_param(query.get("limit"))
        # A crowd of health checks and console visits hides the requests people look for.
        filters = params.trace_filter(query, internal="hide")
    except params.ValidationError as exc:
        return _page("list.html", {**context, "rows": [], "error": exc}, 422)
    summaries = await run_in_threadpool(store.recent_traces, limit, filters)
    return _page("list.html", {**context, "rows": trace_list_rows(summaries), "error": None})


async def read_trace_page(request: Request) -> HTMLResponse:
    """Show one trace as a waterfall with the gateway's routing decision on top."""
    raw = request.path_params["trace_id"]
    if not _TRACE_ID_PREFIX.fullmatch(raw):
        message = f"{raw!r} is not a trace id: expected up to 32 hex digits."
        return _page("missing.html", {"root": "../", "message": message}, 422)
    store = _store(request)
    matches = await run_in_threadpool(store.trace_ids_with_prefix, raw.lower())
    if len(matches) != 1:
        problem = "matches several traces" if matches else "is not in the store"
        message = f"Trace {raw.lower()} {problem}."
        return _page("missing.html", {"root": "../", "message": message}, 404)
    trace_id = matches[0]
    spans = await run_in_threadpool(store.spans, trace_id)
    linked_from = await run_in_threadpool(store.linking_spans, trace_id)
    page = trace_page(trace_id, spans, routing_decision(spans), linked_from)
    return _page("trace.html", {"root": "../", "page": page})


def _choices(store: TraceStore) -> dict[str, list[str]]:
    return {"services": store.services(), "routes": store.routes()}


def _store(request: Request) -> TraceStore:
    store: TraceStore = request.app.state.store
    return store


def _ui_routes() -> list[BaseRoute]:
    return [
        Route("/", read_trace_list, methods=["GET"]),
        Route("/trace/{trace_id}", read_trace_page, methods=["GET"]),
        Mount("/static", app=StaticFiles(packages=[("tracestore.web", "static")]), name="static"),
    ]


def web_routes() -> list[BaseRoute]:
    """Return the page routes, served at the root and again under the gateway's prefix."""
    return [*_ui_routes(), Mount(PREFIX, routes=_ui_routes())]
