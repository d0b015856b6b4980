"""The project's test toolkit, a dev-only workspace member that no service depends on.

The pieces every package's tests share: waiting with a deadline (``polling``), ports nobody can
take before the server has them (``ports``), real servers in a thread (``servers``), spans captured
in memory and a worker's instrumentation probed (``spans``), route tables built from data
(``routetables``); and, per package, the runners and the doubles of what lies outside the project:
``gateway``, ``shadow``, ``rag``, ``tracestore``, ``webhooks``.
"""

from strangler_testing.polling import DeadlineError, wait_until, wait_until_async
from strangler_testing.ports import (
    bound_socket,
    listening_socket,
    picked_port,
    port_of,
    refusing_address,
)
from strangler_testing.routetables import route, route_table
from strangler_testing.spans import CapturedSpans, captured_spans, instrumented_after_fork

__all__ = [
    "CapturedSpans",
    "DeadlineError",
    "bound_socket",
    "captured_spans",
    "instrumented_after_fork",
    "listening_socket",
    "picked_port",
    "port_of",
    "refusing_address",
    "route",
    "route_table",
    "wait_until",
    "wait_until_async",
]
