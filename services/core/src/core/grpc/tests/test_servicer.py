"""CoreService over a real gRPC server on a free port, called as rag and the adapter call it."""

import json
from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import open_channel

from core.billing.models import BillingAccount, ProcessedEvent
from core.customers.models import Customer
from core.grpc.server import RunningServer, start_server
from core.grpc.servicer import SERVICE_NAME
from core.knowledge.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = core_pb2.ApplyEventResponse


@pytest.fixture
def server(service_token: str) -> Iterator[RunningServer]:
    running = start_server("127.0.0.1:0", service_token, max_workers=4)
    yield running
    running.stop(grace=1.0)


@pytest.fixture
def channel(server: RunningServer, service_token: str) -> Iterator[grpc.Channel]:
    with open_channel(f"127.0.0.1:{server.port}", service_token) as opened:
        yield opened


@pytest.fixture
def stub(channel: grpc.Channel) -> core_pb2_grpc.CoreServiceStub:
    return core_pb2_grpc.CoreServiceStub(channel)


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def test_get_customer_returns_the_customer_with_billing(
    stub: core_pb2_grpc.CoreServiceStub, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(
        plan="business", billing={"subscription_status": "trialing", "balance_cents": 120}
    )

    reply = stub.GetCustomer(core_pb2.GetCustomerRequest(id=customer.pk))

    assert (reply.id, reply.email, reply.plan) == (customer.pk, customer.email, "business")
    assert reply.billing.subscription_status == "trialing"
    assert reply.billing.balance_cents == 120
    assert reply.billing.provider_customer_id.startswith("cus_")
    assert reply.created_at.seconds > 0 and reply.billing.updated_at.seconds > 0


def test_get_customer_of_an_unknown_id_is_not_found(stub: core_pb2_grpc.CoreServiceStub) -> None:
    code = _code(lambda: stub.GetCustomer(core_pb2.GetCustomerRequest(id=987654)))

    assert code == grpc.StatusCode.NOT_FOUND


def test_list_articles_resumes_after_a_cursor_and_streams_tombstones(
    stub: core_pb2_grpc.CoreServiceStub, make_article: Callable[..., Article]
) -> None:
    articles = [make_article(tags=["billing", "faq"]) for _ in range(4)]
    ids = [article.pk for article in articles]

    first = list(stub.ListArticles(core_pb2.ListArticlesRequest(limit=2)))
    articles[0].delete()
    rest = list(stub.ListArticles(core_pb2.ListArticlesRequest(cursor=first[-1].cursor)))

    assert [c.article.id for c in first] == ids[:2]
    assert [(c.article.id, c.deleted) for c in rest] == [
        (ids[2], False),
        (ids[3], False),
        (ids[0], True),
    ]
    assert list(first[0].article.tags) == ["billing", "faq"]
    assert first[0].article.body == articles[0].body
    assert rest[-1].article.slug == articles[0].slug and rest[-1].article.body == ""
    assert len({c.cursor for c in first + rest}) == 5


def test_list_articles_from_the_last_cursor_is_empty(
    stub: core_pb2_grpc.CoreServiceStub, make_article: Callable[..., Article]
) -> None:
    make_article()
    [only] = list(stub.ListArticles(core_pb2.ListArticlesRequest()))

    assert list(stub.ListArticles(core_pb2.ListArticlesRequest(cursor=only.cursor))) == []


@pytest.mark.parametrize(
    "request_message",
    [core_pb2.ListArticlesRequest(cursor="garbage"), core_pb2.ListArticlesRequest(limit=-1)],
)
def test_list_articles_refuses_a_bad_request(
    stub: core_pb2_grpc.CoreServiceStub, request_message: core_pb2.ListArticlesRequest
) -> None:
    code = _code(lambda: list(stub.ListArticles(request_message)))

    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_apply_event_is_idempotent(
    stub: core_pb2_grpc.CoreServiceStub, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(billing={"subscription_status": "active", "balance_cents": 0})
    cus = BillingAccount.objects.get(customer=customer).provider_customer_id
    event = {
        "id": "evt_g1",
        "type": "invoice.payment_failed",
        "data": {"object": {"customer": cus, "amount_due": 1999}},
    }
    request = core_pb2.ApplyEventRequest(
        event_id="evt_g1",
        type="invoice.payment_failed",
        source="stripe",
        payload=json.dumps(event).encode(),
    )
    request.received_at.GetCurrentTime()

    first, second = stub.ApplyEvent(request), stub.ApplyEvent(request)

    assert (first.outcome, second.outcome) == (Outcome.APPLIED, Outcome.DUPLICATE)
    account = BillingAccount.objects.get(customer=customer)
    assert (account.subscription_status, account.balance_cents) == ("past_due", 1999)
    assert ProcessedEvent.objects.get(event_id="evt_g1").source == "stripe"


def test_apply_event_of_an_unhandled_type_is_ignored(stub: core_pb2_grpc.CoreServiceStub) -> None:
    reply = stub.ApplyEvent(
        core_pb2.ApplyEventRequest(event_id="evt_i", type="ping", source="stripe", payload=b"{}")
    )

    assert reply.outcome == Outcome.IGNORED
    assert reply.detail


@pytest.mark.parametrize(
    "request_message",
    [
        core_pb2.ApplyEventRequest(type="invoice.paid", payload=b"{}"),
        core_pb2.ApplyEventRequest(event_id="evt_1", payload=b"{}"),
        core_pb2.ApplyEventRequest(event_id="evt_1", type="invoice.paid", payload=b"not json"),
        core_pb2.ApplyEventRequest(event_id="evt_1", type="invoice.paid", payload=b"[1]"),
        core_pb2.ApplyEventRequest(event_id="evt_1", type="invoice.paid"),
        core_pb2.ApplyEventRequest(event_id="e" * 256, type="invoice.paid", payload=b"{}"),
        core_pb2.ApplyEventRequest(
            event_id="evt_1",
            type="x",
            source="stripe",
            payload=b'{"d": ' + b"[" * 40 + b"]" * 40 + b"}",
        ),
        core_pb2.ApplyEventRequest(event_id="evt_1", type="x", source="s" * 51, payload=b"{}"),
    ],
    ids=[
        "no-id",
        "no-type",
        "not-json",
        "not-an-object",
        "empty-payload",
        "id-over-255",
        "too-deep",
        "source-over-50",
    ],
)
def test_apply_event_refuses_malformed_requests(
    stub: core_pb2_grpc.CoreServiceStub, request_message: core_pb2.ApplyEventRequest
) -> None:
    code = _code(lambda: stub.ApplyEvent(request_message))

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert not ProcessedEvent.objects.exists()


def test_calls_without_the_token_are_unauthenticated(server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as bare:
        stub = core_pb2_grpc.CoreServiceStub(bare)
        code = _code(lambda: stub.GetCustomer(core_pb2.GetCustomerRequest(id=1), timeout=5))

    assert code == grpc.StatusCode.UNAUTHENTICATED


def test_health_is_serving_and_needs_no_token(server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as bare:
        health = health_pb2_grpc.HealthStub(bare)
        overall = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        core = health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)

    assert overall.status == core.status == health_pb2.HealthCheckResponse.SERVING
