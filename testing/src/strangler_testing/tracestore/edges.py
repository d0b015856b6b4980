"""Read traces from a running store and check them as directed edges between services.

An edge is (caller service, callee service, protocol): the callee's span is a SERVER span whose
parent is a span of the caller. Each process exports on its own schedule, so a test polls until a
trace holds the edges it expects (an :class:`Observed` is true once it does), then asserts who
called whom, with which routing decision, and what is absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

Span = dict[str, Any]
Edge = tuple[str, str, str]
_TIMEOUT_SECONDS = 5


def protocol(span: Span) -> str:
    """Return "grpc" for a span of a gRPC call, else "http"."""
    return "grpc" if span["attributes"].get("rpc.system") == "grpc" else "http"


def edges(spans: list[Span]) -> set[Edge]:
    """Return the (caller, callee, protocol) edges of a trace."""
    by_id = {span["span_id"]: span for span in spans}
    found = set()
    for span in spans:
        parent = by_id.get(span["parent_span_id"] or "")
        if span["kind"] == "SERVER" and parent and parent["service_name"] != span["service_name"]:
            found.add((parent["service_name"], span["service_name"], protocol(span)))
    return found


@dataclass(frozen=True)
class TraceReader:
    """The store's JSON API at base_url (the store's own port, or the gateway's /traces)."""

    base_url: str

    def spans(self, trace_id: str) -> list[Span]:
        """Return the stored spans of a trace, none if it is not (yet) stored."""
        body = self._get(f"/api/traces/{trace_id}")
        return list(body["spans"]) if body else []

    def recent(self, **filters: str | int) -> list[dict[str, Any]]:
        """Return the summaries of the recent traces passing the API's filters."""
        body = self._get(f"/api/traces?{urlencode(filters)}")
        return list(body["traces"]) if body else []

    def _get(self, path: str) -> Mapping[str, Any] | None:
        try:
            with urlopen(f"{self.base_url}{path}", timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
                body: Mapping[str, Any] = json.load(response)
        except HTTPError as error:
            if error.code == 404:
                return None
            raise
        return body


@dataclass
class Observed:
    """A trace as read so far; true once it has every expected edge."""

    spans: list[Span]
    expected: set[Edge] = field(default_factory=set)
    found: set[Edge] = field(init=False)

    def __post_init__(self) -> None:
        self.found = edges(self.spans)

    def __bool__(self) -> bool:
        return self.expected <= self.found

    def __repr__(self) -> str:
        return f"edges {sorted(self.found)}, still missing {sorted(self.expected - self.found)}"

    def entry(self, service: str, over: str = "http") -> Span:
        """Return the one span where a request entered ``service`` over protocol ``over``."""
        entries = [
            span
            for span in self.spans
            if span["service_name"] == service
            and span["kind"] == "SERVER"
            and protocol(span) == over
            and not self.parent_in(span, service)
        ]
        assert len(entries) == 1, f"{service} {over} entries: {entries}"
        return entries[0]

    def parent_in(self, span: Span, service: str) -> bool:
        """Tell whether span's parent is a span of service."""
        parents = [s for s in self.spans if s["span_id"] == span["parent_span_id"]]
        return bool(parents) and parents[0]["service_name"] == service

    def children(self, span: Span) -> list[Span]:
        """Return the spans whose parent is span."""
        return [s for s in self.spans if s["parent_span_id"] == span["span_id"]]

    def gateway(self) -> Span:
        """Return the gateway's span (made by the store from the access log)."""
        (span,) = [s for s in self.spans if s["service_name"] == "gateway"]
        return span

    def services(self) -> set[str]:
        """Return the services that have a span in the trace."""
        return {span["service_name"] for span in self.spans}
