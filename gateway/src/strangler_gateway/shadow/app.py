"""The comparator's HTTP face: nginx's mirror subrequests arrive here and are answered at once.

nginx waits for a mirror subrequest before it finishes the user's request on that connection, so
``/compare`` only validates the headers and queues the job: 202 in microseconds, whatever the
upstreams do. The app is deliberately not traced as a server: its spans would be children of the
user's traceparent, and a shadow must not add to the user's trace (comparisons link to it instead).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from opentelemetry import baggage, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.trace import SpanContext, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strangler_shared import error_body

from strangler_gateway.shadow.comparator import COMPARED_METHODS, Comparator, Job
from strangler_gateway.shadow.config import ComparatorSettings, TargetTable
from strangler_gateway.shadow.store import ShadowStore

__all__ = ["create_app"]

# nginx mirrors keep the user's method, so /compare accepts them all (and compares GET and HEAD).
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_MAX_URI = 8192


def create_app(
    settings: ComparatorSettings,
    targets: TargetTable,
    *,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """Return the comparator app; it opens the database and starts its workers on startup."""
    tracer = trace.get_tracer("strangler_gateway.shadow", tracer_provider=tracer_provider)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = ShadowStore(settings.db)
        try:
            # One pool for every comparison; the budget bounds each call too. The upstreams are
            # called directly, never through a proxy named by the environment.
            client = httpx.AsyncClient(timeout=settings.budget_seconds, trust_env=False)
            async with client:
                comparator = Comparator(settings, store, client, tracer)
                await comparator.start()
                app.state.comparator = comparator
                try:
                    yield
                finally:
                    await comparator.stop()
        finally:
            store.close()

    async def compare(request: Request) -> JSONResponse:
        """Queue a comparison of the mirrored request described by the X-Shadow-* headers."""
        return _accept(request, targets, request.app.state.comparator)

    return Starlette(
        routes=[
            Route("/healthz", read_health, methods=["GET"]),
            Route("/compare", compare, methods=_METHODS),
        ],
        lifespan=lifespan,
    )


async def read_health(request: Request) -> JSONResponse:
    """Answer 200 once the workers run (the lifespan has started them)."""
    return JSONResponse({"status": "ok"})


def _accept(request: Request, targets: TargetTable, comparator: Comparator) -> JSONResponse:
    headers = request.headers
    route = headers.get("x-shadow-route", "")
    uri = headers.get("x-shadow-uri", "")
    method = headers.get("x-shadow-method", "").upper()
    missing = {
        name: "required"
        for name, value in (
            ("X-Shadow-Route", route),
            ("X-Shadow-Uri", uri),
            ("X-Shadow-Method", method),
        )
        if not value
    }
    if missing:
        message = "a mirrored request needs X-Shadow-Route, X-Shadow-Uri and X-Shadow-Method"
        return JSONResponse(error_body("missing_header", message, missing), status_code=400)
    if not uri.startswith("/") or len(uri) > _MAX_URI:
        message = "X-Shadow-Uri must be a request URI starting with '/'"
        return JSONResponse(error_body("invalid_header", message), status_code=400)
    target = targets.get(route)
    if target is None:
        message = f"no route named '{route}' in the route table"
        return JSONResponse(error_body("unknown_route", message), status_code=404)
    if method not in COMPARED_METHODS:
        reason = f"{method} is not idempotent; only GET and HEAD are compared"
        return JSONResponse({"status": "skipped", "reason": reason}, status_code=202)
    job = Job(
        route=route,
        method=method,
        uri=uri,
        request_id=headers.get("x-request-id", ""),
        user_span=_user_span(headers.get("traceparent")),
        baggage=_baggage(headers.get("baggage")),
    )
    status = "queued" if comparator.submit(job, target) else "dropped"
    return JSONResponse({"status": status}, status_code=202)


def _user_span(traceparent: str | None) -> SpanContext | None:
    """Return the span context of a valid W3C ``traceparent``, else None."""
    if not traceparent:
        return None
    context = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return span_context if span_context.is_valid else None


def _baggage(header: str | None) -> dict[str, str]:
    """Return the entries of a W3C ``baggage`` header (malformed entries are skipped)."""
    if not header:
        return {}
    context = W3CBaggagePropagator().extract({"baggage": header})
    return {name: str(value) for name, value in baggage.get_all(context).items()}
