"""The gateway's routing decision, copied from baggage onto each process's entry span.

The gateway appends ``migration.route``, ``migration.mode``, ``migration.target``,
``migration.bucket`` and ``migration.fallback`` to the W3C ``baggage`` header of every request it
proxies, and the propagators carry them across every HTTP and gRPC hop. This processor turns them
into span attributes, so "which side served this, and why" can be read (and queried) in any trace
backend.

It follows the official ``opentelemetry-processor-baggage`` (read baggage from the parent context
in ``on_start``), but that one copies onto every span as strings. Here only a process's entry span
(SERVER or CONSUMER, parent remote or absent) gets them, once per process and hop, so counting
``migration.target=new`` counts requests rather than internal spans; and they are typed (bucket an
int, fallback a bool) so backends can filter on ``migration.bucket < 10``.
"""

import logging
from collections.abc import Callable, Mapping

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

logger = logging.getLogger(__name__)

PREFIX = "migration."
ENTRY_KINDS = frozenset({SpanKind.SERVER, SpanKind.CONSUMER})


def _to_bool(raw: str) -> bool | None:
    return {"true": True, "false": False}.get(raw.strip().lower())


def _to_int(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _to_str(raw: str) -> str | None:
    return raw


# The typed keys of the gateway's contract; any other migration.* entry is kept as a string.
_CONVERTERS: Mapping[str, Callable[[str], AttributeValue | None]] = {
    "migration.bucket": _to_int,
    "migration.fallback": _to_bool,
}


def migration_attributes(entries: Mapping[str, object]) -> dict[str, AttributeValue]:
    """Return the ``migration.*`` baggage entries as typed span attributes, dropping the rest."""
    attributes: dict[str, AttributeValue] = {}
    for key, raw in entries.items():
        if not key.startswith(PREFIX) or not isinstance(raw, str):
            continue
        value = _CONVERTERS.get(key, _to_str)(raw)
        if value is None:
            logger.debug("ignoring baggage %s=%r: not of the expected type", key, raw)
            continue
        attributes[key] = value
    return attributes


def is_entry_span(span: ReadableSpan) -> bool:
    """Whether ``span`` is where a request enters this process (a server or consumer root)."""
    parent = span.parent
    return span.kind in ENTRY_KINDS and (parent is None or parent.is_remote)


class MigrationBaggageSpanProcessor(SpanProcessor):
    """Copy the gateway's ``migration.*`` baggage onto each entry span as typed attributes."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Set the routing-decision attributes when ``span`` is this process's entry span."""
        if not is_entry_span(span):
            return
        # With no explicit parent context the span was started in the current one (the gRPC
        # server instrumentation attaches the extracted context first); get_all(None) reads it.
        attributes = migration_attributes(baggage.get_all(parent_context))
        if attributes:
            span.set_attributes(attributes)
