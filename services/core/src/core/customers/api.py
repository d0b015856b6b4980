"""Legacy public API for customers: the record itself, and suggestions delegated to rag."""

import json
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema
from strangler_shared import INT64_MAX, INT64_MIN, AsciiInteger

from core.config.errors import error_response
from core.config.schemas import ErrorOut
from core.customers.services import CustomerNotFoundError, billing_state, get_customer
from core.customers.suggestions import UpstreamError, fetch_suggestions

router = Router(tags=["customers"])

# Ids past int64 cannot exist in any database or in the gRPC contract: refuse them here.
CustomerId = Annotated[
    int, Path(ge=INT64_MIN, le=INT64_MAX, description="The customer's id."), AsciiInteger
]


class BillingOut(Schema):
    """The customer's standing with the payment provider."""

    provider_customer_id: str
    subscription_status: str
    balance_cents: int
    currency: str


class CustomerOut(Schema):
    """One customer with its billing state."""

    id: int
    email: str
    name: str
    company: str
    plan: str
    billing: BillingOut


class SuggestionResult(Schema):
    """One suggested article, shaped like a search result."""

    id: int
    slug: str
    title: str
    snippet: str
    score: float


class SuggestionsOut(Schema):
    """Articles rag suggests for the customer's situation, and the query it used."""

    customer_id: int
    query: str
    results: list[SuggestionResult]


@router.get("/customers/{customer_id}", response={200: CustomerOut, 404: ErrorOut, 422: ErrorOut})
def read_customer(request: HttpRequest, customer_id: CustomerId) -> Any:
    """Return one customer with its billing state."""
    try:
        customer = get_customer(customer_id)
    except CustomerNotFoundError as exc:
        return error_response(404, "not_found", str(exc))
    billing = billing_state(customer)
    return {
        "id": customer.pk,
        "email": customer.email,
        "name": customer.name,
        "company": customer.company,
        "plan": customer.plan,
        "billing": {
            "provider_customer_id": billing.provider_customer_id,
            "subscription_status": billing.subscription_status,
            "balance_cents": billing.balance_cents,
            "currency": billing.currency,
        },
    }


@router.get(
    "/customers/{customer_id}/suggestions",
    response={200: SuggestionsOut, 404: ErrorOut, 422: ErrorOut, 502: ErrorOut, 504: ErrorOut},
)
def read_customer_suggestions(
    request: HttpRequest,
    customer_id: CustomerId,
    k: Annotated[int, Query(ge=1, le=50), AsciiInteger] = 3,
) -> Any:
    """Return articles suggested for the customer, computed by the rag service."""
    try:
        body = fetch_suggestions(customer_id, k)
    except UpstreamError as exc:
        return error_response(exc.status, exc.code, exc.message)
    # rag's body is passed through untouched: it is the contract, core only relays it.
    return HttpResponse(json.dumps(body), content_type="application/json")
