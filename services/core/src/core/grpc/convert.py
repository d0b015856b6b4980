"""Turning the monolith's models into CoreService messages."""

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from strangler_contracts.core.v1 import core_pb2

from core.customers.models import Customer
from core.customers.services import billing_state
from core.knowledge.services import ArticleChange, encode_cursor


def timestamp(moment: datetime | None) -> Timestamp | None:
    """Return the protobuf timestamp of an aware datetime (None stays unset)."""
    if moment is None:
        return None
    message = Timestamp()
    message.FromDatetime(moment)
    return message


def customer_message(customer: Customer) -> core_pb2.Customer:
    """Return the Customer message of a customer and its billing state."""
    billing = billing_state(customer)
    return core_pb2.Customer(
        id=customer.pk,
        email=customer.email,
        name=customer.name,
        company=customer.company,
        plan=customer.plan,
        billing=core_pb2.BillingState(
            provider_customer_id=billing.provider_customer_id,
            subscription_status=billing.subscription_status,
            balance_cents=billing.balance_cents,
            currency=billing.currency,
            updated_at=timestamp(billing.updated_at),
        ),
        created_at=timestamp(customer.created_at),
    )


def change_message(change: ArticleChange) -> core_pb2.ArticleChange:
    """Return the ArticleChange message of a feed entry, with its resume cursor."""
    updated_at = timestamp(change.key.changed_at)
    if change.article is None:
        article = core_pb2.Article(
            id=change.key.article_id, slug=change.slug, updated_at=updated_at
        )
    else:
        article = core_pb2.Article(
            id=change.article.pk,
            slug=change.article.slug,
            title=change.article.title,
            body=change.article.body,
            tags=[str(tag) for tag in change.article.tags or []],
            updated_at=updated_at,
        )
    return core_pb2.ArticleChange(
        article=article, deleted=change.deleted, cursor=encode_cursor(change.key)
    )
