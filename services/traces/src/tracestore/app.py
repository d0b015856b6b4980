"""The OTLP/HTTP receiver, the read API and the browser waterfall of the trace store, as one app.

Every service exports here (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318); the cross-service
tests read back from /api/traces and people from the waterfall pages (tracestore.web.pages). An
export is answered only after its spans are committed, so a 200 means the spans are on disk. Given
the gateway's access log, the app also turns each request line into the gateway's span
(tracestore.follower). This app is never traced itself: its own spans would be exported to itself,
one request begetting the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracestore import otlp, params
from tracestore.follower import GatewayLogFollower
from tracestore.forward import SpanForwarder
from tracestore.retention import Retention
from tracestore.store import TraceStore
from tracestore.web.pages import web_routes

logger = logging.getLogger(__name__)
# How often the store drops traces past its retention limits. Between rounds it grows by what
# arrives: a minute of core's searches, 1,900 spans a second, is about 140 MB against the default
# limit of 256. A round with nothing to drop reads three pragmas and probes one index.
PRUNE_SECONDS = 10.0
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]

SERVICE_NAME = "traces"
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JSONResponse:
    """Answer with the project's error envelope (the same shape as strangler_shared.error_body)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return JSONResponse({"error": error}, status_code=status)


async def export_traces(request: Request) -> Response:
    """Receive an OTLP/HTTP trace export and answer once its spans are committed."""
    try:
        media = otlp.media_type(request.headers.get("content-type"))
        body = await _read_body(request)
        decoded = await run_in_threadpool(
            _decode, body, media, request.headers.get("content-encoding")
        )
    except otlp.UnsupportedMediaTypeError as exc:
        return error_response(415, "unsupported_media_type", str(exc))
    except otlp.BodyTooLargeError as exc:
        return error_response(413, "body_too_large", str(exc))
    except otlp.InvalidOTLPError as exc:
        return error_response(400, "invalid_otlp", str(exc))
    if decoded.rejected:
        logger.warning("rejected spans in export: %s", decoded.message)
    try:
        await run_in_threadpool(_store(request).insert, decoded.spans)
    except sqlite3.Error:
        logger.exception("could not store %s spans", len(decoded.spans))
        # 503 is retryable in OTLP/HTTP, so the exporter sends the batch again.
        return error_response(503, "store_unavailable", "the trace database is unavailable")
    return Response(otlp.encode_response(decoded, media), media_type=media)


def _decode(body: bytes, media: str, content_encoding: str | None) -> otlp.DecodedExport:
    """Decompress, parse and convert an export body (CPU work, kept off the event loop)."""
    return otlp.spans_from_request(
        otlp.parse_request(otlp.decompress(body, content_encoding), media)
    )


async def _read_body(request: Request) -> bytes:
    """Read the request body, refusing it as soon as it passes the size limit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > otlp.MAX_BODY_BYTES:
            raise otlp.BodyTooLargeError(f"body exceeds {otlp.MAX_BODY_BYTES} bytes")
    return bytes(body)


async def read_health(request: Request) -> JSONResponse:
    """Report that the receiver is up."""
    return JSONResponse({"status": "ok"})


async def list_traces(request: Request) -> JSONResponse:
    """List the most recent traces, newest first, filtered by service, route, status, duration."""
    try:
        limit = params.limit_param(request.query_params.get("limit"))
        filters = params.trace_filter(request.query_params)
    except params.ValidationError as exc:
        return error_response(422, "validation_error", str(exc), {exc.field: str(exc)})
    summaries = await run_in_threadpool(_store(request).recent_traces, limit, filters)
    return JSONResponse({"traces": [summary.to_json() for summary in summaries]})


async def read_trace(request: Request) -> JSONResponse:
    """Return every stored span of one trace, ordered by start time."""
    trace_id = request.path_params["trace_id"]
    if not _TRACE_ID.fullmatch(trace_id):
        message = "trace_id must be 32 hex digits"
        return error_response(422, "validation_error", message, {"trace_id": message})
    spans = await run_in_threadpool(_store(request).spans, trace_id)
    if not spans:
        return error_response(404, "not_found", f"no spans stored for trace {trace_id}")
    return JSONResponse(
        {
            "trace_id": trace_id.lower(),
            "span_count": len(spans),
            "spans": [span.to_json() for span in spans],
        }
    )


def _store(request: Request) -> TraceStore:
    store: TraceStore = request.app.state.store
    return store


async def _http_error(request: Request, exc: Exception) -> Response:
    """Answer routing errors (404, 405) with the error envelope instead of plain text."""
    if not isinstance(exc, HTTPException):
        return await _server_error(request, exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    """Answer an unexpected failure with the error envelope, never a traceback."""
    return error_response(500, "internal_error", "the trace store failed to handle the request")


class ServiceHeaderMiddleware:
    """Add `X-Service: traces` to every response, like every other process of the project."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Service", SERVICE_NAME)
            await send(message)

        await self.app(scope, receive, send_with_header)


def create_app(
    store: TraceStore,
    gateway_log: Path | None = None,
    forward_to: str | None = None,
    retention: Retention | None = None,
) -> Starlette:
    """Build the receiver app over an open store (the caller closes it).

    With gateway_log, the app also follows the gateway's access log while it runs, storing one
    gateway span per request, and exporting those spans to the OTLP/HTTP URL forward_to if given.
    With retention, it drops the traces past its limits every 10 s while it runs.
    """
    app = Starlette(
        routes=[
            Route("/v1/traces", export_traces, methods=["POST"]),
            Route("/healthz", read_health, methods=["GET"]),
            Route("/api/traces", list_traces, methods=["GET"]),
            Route("/api/traces/{trace_id}", read_trace, methods=["GET"]),
            *web_routes(),
        ],
        middleware=[Middleware(ServiceHeaderMiddleware)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=_both(_follow(gateway_log, forward_to), _prune(retention)),
    )
    app.state.store = store
    return app


def _both(first: Lifespan, second: Lifespan) -> Lifespan:
    """Return a lifespan that runs two, the second inside the first."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with first(app), second(app):
            yield

    return lifespan


def _prune(retention: Retention | None) -> Lifespan:
    """Return a lifespan that keeps the store within ``retention`` (a no-op without one)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if retention is None:
            yield
            return
        task = asyncio.create_task(_prune_forever(app.state.store, retention))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _prune_forever(store: TraceStore, retention: Retention) -> None:
    while True:
        try:
            removed = await run_in_threadpool(store.prune, retention)
        except sqlite3.Error:
            # A busy or damaged database must not stop the receiver; the next round tries again.
            logger.exception("could not drop old traces")
        else:
            if removed:
                logger.info("dropped %s spans of traces past the retention limits", removed)
        await asyncio.sleep(PRUNE_SECONDS)


def _follow(gateway_log: Path | None, forward_to: str | None) -> Lifespan:
    """Return a lifespan that follows the access log while the app serves (a no-op without one)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if gateway_log is None:
            yield
            return
        forwarder = SpanForwarder(forward_to) if forward_to else None
        forward = forwarder.submit if forwarder else None
        # Positioned before the first request is served, so nothing written after start is missed.
        follower = GatewayLogFollower(gateway_log, app.state.store, forward=forward)
        if forwarder:
            forwarder.start()
            logger.info("forwarding the gateway's spans to %s", forward_to)
        follower.start()
        logger.info("following the gateway access log %s", gateway_log)
        try:
            yield
        finally:
            await run_in_threadpool(follower.stop)
            if forwarder:
                await run_in_threadpool(forwarder.stop)

    return lifespan
