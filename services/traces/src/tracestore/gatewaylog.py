"""Turn one line of the gateway's JSON access log into the gateway's SERVER span.

nginx does not export spans, but it logs every request with the ids it sent upstream (its trace id,
its own span id, the client's span id) and the routing decision. One line is therefore one span,
and with it a trace starts at the gateway, as the user sees it, with the decision on its root.
A line whose ``sampled`` is false makes no span: the gateway did not sample that trace, so no
service recorded it either (a line without the field, from a gateway before it, is sampled).
The line format is the gateway's access-log contract (gateway/routes.toml renders it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import unquote, urlsplit

from tracestore.models import Attributes, SpanRecord, SpanStatus

SERVICE_NAME = "gateway"
SCOPE_NAME = "tracestore.gatewaylog"
# The distribution that renders and runs the gateway: its version is the gateway's service.version.
GATEWAY_DISTRIBUTION = "strangler-gateway"
# As strangler_shared's setup_tracing: the stable key, the older one backends still filter on, and
# the environment a process names when OTEL_RESOURCE_ATTRIBUTES names none.
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
DEFAULT_ENVIRONMENT = "local"
# Where the gateway serves the trace store's pages (tracestore.web.pages.PREFIX).
VIEWER_PREFIX = "/traces"
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANOS_PER_SECOND = 1_000_000_000
# The access-log keys copied as they are, beyond the ones the span is built from.
_PASSTHROUGH = {
    "upstream_addr": "strangler.upstream.address",
    "upstream_status": "strangler.upstream.status",
    "upstream_response_time": "strangler.upstream.response_time",
    "request_id": "strangler.request_id",
    "config": "strangler.gateway.config",
    "user_agent": "user_agent.original",
}


class InvalidLogLineError(ValueError):
    """An access-log line that is not JSON or lacks what a span needs."""


def gateway_resource(environ: Mapping[str, str]) -> Attributes:
    """Return the gateway's resource attributes, named as every service of the project names its.

    The deployment environment comes from ``OTEL_RESOURCE_ATTRIBUTES``, which every process of a
    deployment shares; the version is the installed gateway package's, when it is installed.
    """
    entries = _resource_entries(environ.get("OTEL_RESOURCE_ATTRIBUTES", ""))
    environment = next((entries[k] for k in ENVIRONMENT_KEYS if entries.get(k)), None)
    resource: Attributes = {"service.name": SERVICE_NAME}
    resource.update(dict.fromkeys(ENVIRONMENT_KEYS, environment or DEFAULT_ENVIRONMENT))
    with suppress(PackageNotFoundError):  # the store can run without the gateway installed
        resource["service.version"] = version(GATEWAY_DISTRIBUTION)
    return resource


def _resource_entries(raw: str) -> dict[str, str]:
    """Parse OTEL_RESOURCE_ATTRIBUTES: comma-separated key=value pairs, values percent-encoded."""
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {key.strip(): unquote(value.strip()) for key, value in pairs}


def span_from_line(line: str | bytes, resource: Attributes | None = None) -> SpanRecord | None:
    """Return the gateway span described by one access-log line.

    None for a trace the gateway did not sample, and for the viewer's own pages. resource
    defaults to the bare service name; the follower passes gateway_resource's.
    """
    entry = _parse(line)
    if entry.get("sampled") is False or _is_viewer_page(str(entry.get("uri") or "")):
        return None
    trace_id = _hex_id(entry, "trace_id", _TRACE_ID)
    span_id = _hex_id(entry, "span_id", _SPAN_ID)
    parent = str(entry.get("parent_span_id") or "").lower()
    if parent and not _SPAN_ID.fullmatch(parent):
        raise InvalidLogLineError(f"parent_span_id {parent!r} is not 16 hex digits")
    end = _time_nanos(entry.get("time"))
    start = end - _seconds_nanos(entry.get("request_time"))
    status = _int_or_none(entry.get("status"))
    method = str(entry.get("method") or "")
    route = str(entry.get("route") or "")
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent or None,
        name=f"{method} {route}".strip() or "request",
        kind="SERVER",
        service_name=SERVICE_NAME,
        start_unix_nano=min(start, end),
        end_unix_nano=end,
        status=SpanStatus("ERROR") if status is not None and status >= 500 else SpanStatus(),
        attributes=_attributes(entry, method, status),
        resource_attributes=dict(resource or {"service.name": SERVICE_NAME}),
        scope_name=SCOPE_NAME,
    )


def _is_viewer_page(uri: str) -> bool:
    """Tell whether a request was for these trace pages: looking at traces must not make traces."""
    path = urlsplit(uri).path
    return path == VIEWER_PREFIX or path.startswith(f"{VIEWER_PREFIX}/")


def _parse(line: str | bytes) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidLogLineError(f"not JSON: {exc}") from None
    if not isinstance(entry, dict):
        raise InvalidLogLineError("not a JSON object")
    return entry


def _hex_id(entry: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = str(entry.get(key) or "").lower()
    if not pattern.fullmatch(value) or not value.strip("0"):
        raise InvalidLogLineError(f"{key} {value!r} is not a valid id")
    return value


def _time_nanos(value: object) -> int:
    """Read the request's end: ISO 8601 (with or without fraction) or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _seconds_nanos(value)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidLogLineError(f"time {value!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


def _seconds_nanos(value: object) -> int:
    """Convert seconds (a number or a numeric string, as nginx writes them) to nanoseconds."""
    if value in (None, "", "-"):
        return 0
    try:
        seconds = float(str(value))
    except ValueError:
        raise InvalidLogLineError(f"{value!r} is not a number of seconds") from None
    if seconds < 0 or seconds != seconds:
        raise InvalidLogLineError(f"{value!r} is not a duration")
    return round(seconds * _NANOS_PER_SECOND)


def _attributes(entry: dict[str, Any], method: str, status: int | None) -> Attributes:
    uri = str(entry.get("uri") or "")
    parts = urlsplit(uri)
    attributes: Attributes = {"http.request.method": method, "url.path": parts.path or uri}
    if parts.query:
        attributes["url.query"] = parts.query
    if status is not None:
        attributes["http.response.status_code"] = status
        if status >= 500:
            attributes["error.type"] = str(status)
    attributes.update(_decision(entry))
    for key, name in _PASSTHROUGH.items():
        value = entry.get(key)
        if value not in (None, "", "-"):
            attributes[name] = value
    return attributes


def _decision(entry: dict[str, Any]) -> Attributes:
    """Return the migration.* attributes, typed as the services' entry spans type them."""
    decision: Attributes = {}
    for key in ("route", "mode", "target"):
        if entry.get(key):
            decision[f"migration.{key}"] = str(entry[key])
    bucket = _int_or_none(entry.get("bucket"))
    if bucket is not None:
        decision["migration.bucket"] = bucket
    fallback = entry.get("fallback")
    if fallback is not None and fallback != "":
        decision["migration.fallback"] = fallback is True or str(fallback).lower() == "true"
    return decision


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None
