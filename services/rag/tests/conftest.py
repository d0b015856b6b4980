"""Fixtures for rag's own tests: a stand-in CoreService on a real socket, and a running app.

The stand-in implements just enough of core's contract (an append-only change log for
ListArticles, a customer table for GetCustomer) to drive rag; the cross-service suites at the
repository root run rag against the real core.
"""

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent import futures
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass

import anyio
import grpc
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from rag.config import Settings
from rag.main import create_app
from rag.providers import AnswerProvider
from strangler_contracts.core.v1 import core_pb2, core_pb2_grpc
from strangler_shared import MigrationBaggageSpanProcessor, ServiceTokenServerInterceptor
from strangler_testing import (
    CapturedSpans,
    captured_spans,
    picked_port,
    wait_until,
    wait_until_async,
)
from strangler_testing.rag import FakeChatCompletions, serve_in_thread

TOKEN = "rag-tests-service-token-0123456789abcdefghij"
IDENTITY_SECRET = b"rag-tests-identity-key-0123456789abcdefghij"

SEED_ARTICLES = [
    (
        1,
        "reset-password",
        "Reset your password",
        "Open the login page and choose Forgot password. We email you a reset link that works "
        "for one hour. Pick a new password of at least twelve characters.",
    ),
    (
        2,
        "payment-failed",
        "What to do when a payment fails",
        "When a card is declined, the invoice stays open and your subscription becomes past due. "
        "Update the card on the billing page. We retry the failed payment within a day.",
    ),
    (
        3,
        "trial-upgrade",
        "Upgrade before your trial ends",
        "Your trial lasts fourteen days. Choose a plan on the billing page to upgrade at any "
        "time; your data stays where it is.",
    ),
    (
        4,
        "team-getting-started",
        "Getting started with the Team plan",
        "The team plan adds shared workspaces. Invite colleagues from the members page and "
        "give each one a role.",
    ),
]


class FakeCore(core_pb2_grpc.CoreServiceServicer):
    """CoreService with an in-memory change log; cursors are positions in the log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[core_pb2.ArticleChange] = []
        self.customers: dict[int, core_pb2.Customer] = {}
        self.slow_customer_ids: set[int] = set()
        self.cursors_requested: list[str] = []
        self.break_next_stream_after: int | None = None
        # While set and not released, ListArticles waits before streaming: a slow first sync.
        self.hold: threading.Event | None = None

    def put_article(self, article_id: int, slug: str, title: str, body: str) -> None:
        """Record a created or updated article."""
        article = core_pb2.Article(id=article_id, slug=slug, title=title, body=body)
        self._append(core_pb2.ArticleChange(article=article))

    def delete_article(self, article_id: int, slug: str) -> None:
        """Record a tombstone."""
        article = core_pb2.Article(id=article_id, slug=slug)
        self._append(core_pb2.ArticleChange(article=article, deleted=True))

    def _append(self, change: core_pb2.ArticleChange) -> None:
        with self._lock:
            change.cursor = str(len(self._log) + 1)
            self._log.append(change)

    def ListArticles(
        self, request: core_pb2.ListArticlesRequest, context: grpc.ServicerContext
    ) -> Iterator[core_pb2.ArticleChange]:
        with self._lock:
            self.cursors_requested.append(request.cursor)
            pending = self._log[int(request.cursor or 0) :]
            break_after, self.break_next_stream_after = self.break_next_stream_after, None
            hold = self.hold
        if hold is not None:
            hold.wait(timeout=10)
        for sent, change in enumerate(pending):
            if sent == break_after:
                context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset mid-stream")
            yield change

    def GetCustomer(
        self, request: core_pb2.GetCustomerRequest, context: grpc.ServicerContext
    ) -> core_pb2.Customer:
        if request.id in self.slow_customer_ids:
            # Longer than rag's deadline: rag must give up, not hang.
            time.sleep(1.0)
        customer = self.customers.get(request.id)
        if customer is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"customer {request.id} not found")
        return customer

    def add_customer(self, customer_id: int, plan: str, status: str) -> None:
        """Add a customer in the given plan and subscription state."""
        billing = core_pb2.BillingState(
            provider_customer_id=f"cus_{customer_id}", subscription_status=status, currency="usd"
        )
        self.customers[customer_id] = core_pb2.Customer(
            id=customer_id, email=f"c{customer_id}@example.com", plan=plan, billing=billing
        )


@dataclass
class RunningCore:
    """A stand-in core serving on a real port."""

    servicer: FakeCore
    port: int
    server: grpc.Server

    @property
    def target(self) -> str:
        """The host:port rag dials."""
        return f"127.0.0.1:{self.port}"


def start_core(servicer: FakeCore, port: int = 0) -> RunningCore:
    """Serve ``servicer`` as CoreService (token-protected) on 127.0.0.1."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        interceptors=[ServiceTokenServerInterceptor(TOKEN)],
    )
    core_pb2_grpc.add_CoreServiceServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return RunningCore(servicer, bound, server)


def seeded_core() -> FakeCore:
    """A stand-in core holding the seed articles and one customer per billing situation."""
    servicer = FakeCore()
    for article in SEED_ARTICLES:
        servicer.put_article(*article)
    servicer.add_customer(10, "team", "past_due")
    servicer.add_customer(11, "business", "trialing")
    servicer.add_customer(12, "team", "active")
    return servicer


def fast_settings(core_target: str, **overrides: object) -> Settings:
    """Settings for a test: any free gRPC port, short sync intervals and deadlines."""
    values: dict[str, object] = {
        "core_grpc_target": core_target,
        "grpc_bind": "127.0.0.1:0",
        "sync_interval_seconds": 0.05,
        "sync_retry_initial_seconds": 0.05,
        "sync_retry_max_seconds": 0.2,
        # A test of an unreachable core would otherwise wait this long before each start.
        "sync_startup_wait_seconds": 0.2,
        "core_timeout_seconds": 0.5,
        "grpc_shutdown_grace_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


Poll = Callable[..., None]
CoreFactory = Callable[..., RunningCore]
SettingsFactory = Callable[..., Settings]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def poll() -> Poll:
    """``poll(condition, timeout=10, what="")``: wait for a condition with a deadline."""
    return wait_until


@pytest.fixture
def settings_for() -> SettingsFactory:
    """``settings_for(core_target, **overrides)``: fast settings for a test app."""
    return fast_settings


@pytest.fixture
def free_port_number() -> int:
    """A port nothing listens on (yet): a test may start a server on it later."""
    return picked_port()


@pytest.fixture(autouse=True)
def identity_secret(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Set the key core signs identities with (every app needs it to start)."""
    monkeypatch.setenv("STRANGLER_IDENTITY_SECRET", IDENTITY_SECRET.decode())
    monkeypatch.delenv("STRANGLER_IDENTITY_SECRET_FILE", raising=False)
    return IDENTITY_SECRET


@pytest.fixture
def service_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STRANGLER_SERVICE_TOKEN", TOKEN)
    monkeypatch.delenv("STRANGLER_SERVICE_TOKEN_FILE", raising=False)
    return TOKEN


@pytest.fixture
def core_factory(service_token: str) -> Iterator[CoreFactory]:
    """``core_factory(servicer=None, port=0)``: start a stand-in core, stopped after the test."""
    started: list[RunningCore] = []

    def start(servicer: FakeCore | None = None, port: int = 0) -> RunningCore:
        running = start_core(servicer or seeded_core(), port)
        started.append(running)
        return running

    yield start
    for running in started:
        running.server.stop(grace=None)


@pytest.fixture
def core(core_factory: CoreFactory) -> RunningCore:
    """A stand-in core holding the seed articles and customers."""
    return core_factory()


@pytest.fixture
def apoll() -> Callable[..., object]:
    """``await apoll(async_condition, timeout=10)``: wait for an async condition."""
    return wait_until_async


@asynccontextmanager
async def _started(application: FastAPI) -> AsyncIterator[FastAPI]:
    async with application.router.lifespan_context(application):
        with anyio.fail_after(10):
            await application.state.sync.wait_ready()
        yield application


@pytest.fixture
async def app(core: RunningCore) -> AsyncIterator[FastAPI]:
    """The app, started (lifespan: gRPC server, sync) against the stand-in core and synced."""
    async with _started(create_app(fast_settings(core.target))) as application:
        yield application


@pytest.fixture
def captured() -> Iterator[CapturedSpans]:
    """Spans captured in memory, the gateway's ``migration.*`` baggage copied as in a service."""
    with captured_spans("rag", processors=[MigrationBaggageSpanProcessor()]) as spans:
        yield spans


@pytest.fixture
async def traced_app(core: RunningCore, captured: CapturedSpans) -> AsyncIterator[FastAPI]:
    """The started app, tracing into ``captured``."""
    application = create_app(fast_settings(core.target), tracer_provider=captured.provider)
    async with _started(application) as started:
        yield started


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rag.test") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the started app in process."""
    async with _client(app) as http:
        yield http


@pytest.fixture
async def traced_client(traced_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the started, traced app in process."""
    async with _client(traced_app) as http:
        yield http


@dataclass
class FakeOpenAI:
    """A running fake OpenAI-compatible server."""

    fake: FakeChatCompletions
    base_url: str


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server on a free port; its behaviour can be changed per test."""
    fake = FakeChatCompletions()
    with serve_in_thread(fake.app()) as url:
        yield FakeOpenAI(fake, f"{url}/v1")


@dataclass
class ServedRag:
    """A rag app served by uvicorn on a real port."""

    app: FastAPI
    base_url: str


ServeRag = Callable[..., AbstractContextManager[ServedRag]]


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def serve_rag(core: RunningCore) -> ServeRag:
    """``with serve_rag(preset_provider=None, **settings) as served``: rag on a real port."""

    @contextmanager
    def serve(
        preset_provider: AnswerProvider | None = None,
        tracer_provider: TracerProvider | None = None,
        **overrides: object,
    ) -> Iterator[ServedRag]:
        settings = fast_settings(core.target, **overrides)
        application = create_app(settings, tracer_provider=tracer_provider)
        application.state.provider = preset_provider
        with serve_in_thread(application) as base_url:
            wait_until(lambda: _healthy(base_url), timeout=20, what="rag /healthz")
            yield ServedRag(application, base_url)

    return serve
