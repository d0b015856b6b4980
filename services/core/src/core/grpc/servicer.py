"""CoreService: customers, the knowledge-base change feed and event intake, from the ORM.

The server runs handlers on a thread pool outside Django's request cycle, so each call closes
stale database connections itself before and after it runs, as Django does around a request.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from django.db import close_old_connections
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared.webhook_intake import IntakeRefusal, check_event_fields

from core.billing.models import EventOutcome
from core.billing.services import InvalidEventError, apply_event
from core.customers.services import CustomerNotFoundError, get_customer
from core.grpc.convert import change_message, customer_message
from core.grpc.requests import InvalidRequestError, parse_payload, received_at
from core.knowledge.services import InvalidCursorError, changes_after, decode_cursor

logger = logging.getLogger(__name__)

SERVICE_NAME = core_pb2.DESCRIPTOR.services_by_name["CoreService"].full_name

_OUTCOMES = {
    EventOutcome.APPLIED: core_pb2.ApplyEventResponse.APPLIED,
    EventOutcome.DUPLICATE: core_pb2.ApplyEventResponse.DUPLICATE,
    EventOutcome.IGNORED: core_pb2.ApplyEventResponse.IGNORED,
}


@contextmanager
def database_scope() -> Iterator[None]:
    """Close stale connections around one call, as Django's request signals would."""
    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()


class CoreServicer(core_pb2_grpc.CoreServiceServicer):
    """The monolith's side of the CoreService contract."""

    def GetCustomer(
        self, request: core_pb2.GetCustomerRequest, context: grpc.ServicerContext
    ) -> core_pb2.Customer:
        """Return one customer with its billing state; NOT_FOUND for an unknown id."""
        with database_scope():
            try:
                customer = get_customer(request.id)
            except CustomerNotFoundError as exc:
                context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
            return customer_message(customer)

    def ListArticles(
        self, request: core_pb2.ListArticlesRequest, context: grpc.ServicerContext
    ) -> Iterator[core_pb2.ArticleChange]:
        """Stream article changes and tombstones in (updated_at, id) order after the cursor."""
        if request.limit < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "limit must not be negative")
        try:
            after = decode_cursor(request.cursor)
        except InvalidCursorError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with database_scope():
            for change in changes_after(after, request.limit or None):
                if not context.is_active():
                    logger.info("ListArticles client went away; stopping the stream")
                    return
                yield change_message(change)

    def ApplyEvent(
        self, request: core_pb2.ApplyEventRequest, context: grpc.ServicerContext
    ) -> core_pb2.ApplyEventResponse:
        """Apply one external event idempotently; INVALID_ARGUMENT for a malformed request."""
        if not request.event_id or not request.type:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "event_id and type are required")
        try:
            # The intake paths' own rules first, so an event they acknowledged is never refused
            # here; then the payload's depth and number ranges.
            check_event_fields(request.event_id, request.type, request.source)
            payload = parse_payload(request.payload)
            when = received_at(request.received_at, request.HasField("received_at"))
        except IntakeRefusal as refusal:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, refusal.message)
        except InvalidRequestError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with database_scope():
            try:
                result = apply_event(request.event_id, request.type, request.source, payload, when)
            except InvalidEventError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return core_pb2.ApplyEventResponse(outcome=_OUTCOMES[result.outcome], detail=result.detail)
