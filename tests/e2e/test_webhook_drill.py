"""The webhook drill: mixed deliveries through the gateway while core and the adapters fail.

Senders post Stripe and Standard Webhooks deliveries through the gateway at a steady rate: new
events, re-deliveries of accepted ones, forged signatures, stale and future timestamps. Meanwhile
one adapter process is SIGKILLed and started again, core's gRPC server is stopped for a stretch,
and the other adapter process is restarted gracefully. A sender retries what did not get a 2xx,
as Stripe does. Afterwards every valid event is in core's ledger exactly once, none of the
invalid ones is anywhere, the outbox holds every accepted event as delivered, and the graceful
restart cost no sender a 5xx. The figures (ack p99 per phase, 5xx, attempts) are printed as a
table; speed is reported, not asserted (a busy machine must not fail the drill).
"""

import hashlib
import hmac
import json
import random
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from devstack import Stack
from standardwebhooks.webhooks import Webhook

pytestmark = pytest.mark.stack

RATE_PER_SECOND = 40
SENDERS = 8
RETRY_PAUSE_SECONDS = 0.2
MAX_TRIES = 20
CUSTOMERS = [f"cus_drill_{n}" for n in range(12)]
FUTURE_SECONDS = 3600
STALE_SECONDS = 900


@dataclass(frozen=True)
class Delivery:
    """One delivery the drill sends: which path, its id, body, and whether it must be accepted."""

    path: str
    event_id: str
    body: bytes
    valid: bool
    kind: str
    offset: int = 0
    forged: bool = False


@dataclass
class Result:
    """What a sender saw for one delivery: every status, the phase of each, the 2xx latency."""

    delivery: Delivery
    statuses: list[int] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    ack_seconds: float | None = None


class Phase:
    """The drill's current phase, read by the senders to label what they see."""

    def __init__(self) -> None:
        self.name = "warm-up"
        self._lock = threading.Lock()

    def set(self, name: str) -> None:
        with self._lock:
            self.name = name


class Signer:
    """Sign deliveries as Stripe and a Standard Webhooks sender do, at a chosen time offset."""

    def __init__(self, stack: Stack) -> None:
        self._stripe = stack.secrets.stripe_webhook_secret
        self._standard = Webhook(stack.secrets.standard_webhook_secret)

    def headers(self, delivery: Delivery) -> dict[str, str]:
        t = int(time.time()) + delivery.offset
        if delivery.path == "/webhooks/stripe":
            secret = "whsec_forged" if delivery.forged else self._stripe
            mac = hmac.new(secret.encode(), f"{t}.".encode() + delivery.body, hashlib.sha256)
            return {"Stripe-Signature": f"t={t},v1={mac.hexdigest()}"}
        webhook = Webhook("whsec_Zm9yZ2VkZm9yZ2VkZm9yZ2Vk") if delivery.forged else self._standard
        signed_at = datetime.fromtimestamp(t, tz=UTC)
        signature = webhook.sign(delivery.event_id, signed_at, delivery.body.decode())
        return {
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(t),
            "webhook-signature": signature,
        }


class Deliveries:
    """The drill's stream of deliveries: mostly new events, some re-sent, some invalid."""

    def __init__(self, seed: int = 11) -> None:
        self._random = random.Random(seed)
        self._accepted: list[Delivery] = []

    def next(self) -> Delivery:
        roll = self._random.random()
        if roll < 0.15 and self._accepted:
            original = self._random.choice(self._accepted)
            return Delivery(original.path, original.event_id, original.body, True, "duplicate")
        delivery = self._new()
        if roll < 0.23:
            return Delivery(
                delivery.path, delivery.event_id, delivery.body, False, "forged", forged=True
            )
        if roll < 0.31:
            return Delivery(
                delivery.path, delivery.event_id, delivery.body, False, "stale", -STALE_SECONDS
            )
        if roll < 0.40:
            return Delivery(
                delivery.path, delivery.event_id, delivery.body, False, "future", FUTURE_SECONDS
            )
        self._accepted.append(delivery)
        return delivery

    def _new(self) -> Delivery:
        customer = self._random.choice(CUSTOMERS)
        data = {"object": {"object": "invoice", "customer": customer, "amount_due": 100}}
        if self._random.random() < 0.5:
            event_id = f"evt_drill_{uuid.uuid4().hex}"
            event = {"id": event_id, "type": "invoice.payment_failed", "data": data}
            return Delivery("/webhooks/stripe", event_id, json.dumps(event).encode(), True, "new")
        event_id = f"msg_drill_{uuid.uuid4().hex}"
        event = {
            "type": "invoice.payment_failed",
            "timestamp": "2026-01-01T00:00:00Z",
            "data": data,
        }
        return Delivery("/webhooks/standard", event_id, json.dumps(event).encode(), True, "new")


def _send(client: httpx.Client, signer: Signer, phase: Phase, delivery: Delivery) -> Result:
    """Send until a non-5xx answer, as a provider retries; record each answer and its phase."""
    result = Result(delivery)
    for _ in range(MAX_TRIES):
        headers = {"Content-Type": "application/json", **signer.headers(delivery)}
        started = time.perf_counter()
        try:
            status = client.post(delivery.path, content=delivery.body, headers=headers).status_code
        except httpx.TransportError:
            status = 599  # no answer at all: the sender counts it as a failure too
        result.statuses.append(status)
        result.phases.append(phase.name)
        if status < 500:
            if status < 300:
                result.ack_seconds = time.perf_counter() - started
            return result
        time.sleep(RETRY_PAUSE_SECONDS)
    return result


@contextmanager
def _traffic(stack: Stack, phase: Phase) -> Iterator[list[Result]]:
    """Send deliveries at the drill's rate until the block ends; yield the results so far."""
    results: list[Result] = []
    stop = threading.Event()
    signer, deliveries = Signer(stack), Deliveries()
    base = f"http://127.0.0.1:{stack.config.ports.gateway}"
    local, opened = threading.local(), []

    def send(delivery: Delivery) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=30)
            opened.append(local.client)
        results.append(_send(local.client, signer, phase, delivery))

    def produce(pool: ThreadPoolExecutor) -> None:
        started, sent = time.monotonic(), 0
        while not stop.is_set():
            pool.submit(send, deliveries.next())
            sent += 1
            time.sleep(max(0.0, started + sent / RATE_PER_SECOND - time.monotonic()))

    with ThreadPoolExecutor(SENDERS) as pool:
        producer = threading.Thread(target=produce, args=(pool,))
        producer.start()
        try:
            yield results
        finally:
            stop.set()
            producer.join()
    for client in opened:
        client.close()


def _ledger(stack: Stack) -> Counter[str]:
    with sqlite3.connect(stack.config.data_dir / "core.sqlite3") as db:
        rows = db.execute(
            "select event_id from billing_processedevent where event_id like '%_drill_%'"
        ).fetchall()
    return Counter(row[0] for row in rows)


def _outbox(stack: Stack) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(stack.config.data_dir / "webhooks-outbox.sqlite3") as db:
        rows = db.execute(
            "select event_id, status, outcome from outbox where event_id like '%_drill_%'"
        ).fetchall()
    return {event_id: (status, outcome) for event_id, status, outcome in rows}


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def _table(results: list[Result], phases: list[str]) -> str:
    header = ("phase", "deliveries", "ack p50 ms", "ack p99 ms", "max ms", "5xx")
    lines = ["{:<22} {:>10} {:>10} {:>10} {:>8} {:>5}".format(*header)]
    for name in [*phases, "all"]:
        in_phase = [r for r in results if name == "all" or r.phases[-1] == name]
        acks = [r.ack_seconds * 1000 for r in in_phase if r.ack_seconds is not None]
        fives = sum(
            1 for r in results for s, p in zip(r.statuses, r.phases, strict=True)
            if s >= 500 and (name == "all" or p == name)
        )  # fmt: skip
        p50 = sorted(acks)[len(acks) // 2] if acks else 0.0
        lines.append(
            f"{name:<22} {len(in_phase):>10} {p50:>10.1f} {_p99(acks):>10.1f}"
            f" {max(acks, default=0.0):>8.1f} {fives:>5}"
        )
    return "\n".join(lines)


def test_webhook_drill(stack: Stack, poll: Callable[..., Any]) -> None:
    phase = Phase()
    steps = ["warm-up", "adapter-1 killed", "core gRPC down", "adapter-2 graceful", "settle"]
    with _traffic(stack, phase) as results:
        time.sleep(3)
        phase.set("adapter-1 killed")
        stack.kill_process("webhooks")
        stack.start_process("webhooks")
        phase.set("core gRPC down")
        stack.stop_process("core-grpc")
        time.sleep(8)
        stack.start_process("core-grpc")
        phase.set("adapter-2 graceful")
        stack.stop_process("webhooks-2")
        stack.start_process("webhooks-2")
        phase.set("settle")
        time.sleep(2)
    # The stack is shared: leave it as found. rag's channel to core backs off while core's gRPC
    # server is down, so a later test's delegated call could meet a 503 for a few seconds more.
    core = f"http://127.0.0.1:{stack.config.ports.core_http}/api/customers/1/suggestions"
    poll(lambda: httpx.get(core, timeout=5).status_code == 200, seconds=60)

    valid = {r.delivery.event_id for r in results if r.delivery.valid}
    invalid = {r.delivery.event_id for r in results if not r.delivery.valid} - valid
    ledger = poll(
        lambda: (lambda seen: seen if valid <= set(seen) else None)(_ledger(stack)), seconds=90
    )
    outbox = poll(
        lambda: (lambda rows: rows if all(s == "delivered" for s, _ in rows.values()) else None)(
            _outbox(stack)
        ),
        seconds=60,
    )
    print()
    print(_table(results, steps))
    print(f"deliveries {len(results)}, valid events {len(valid)}, invalid {len(invalid)}")
    print(f"outbox: {Counter(status for status, _ in outbox.values())}")
    failures = Counter(
        (p, s) for r in results for s, p in zip(r.statuses, r.phases, strict=True) if s >= 500
    )
    print(f"5xx by phase and status (599: no answer): {dict(failures)}")

    answered = [r for r in results if r.statuses[-1] < 500]
    assert len(answered) == len(results), "every delivery got an answer in the end"
    for result in results:
        expected_2xx = result.delivery.valid
        assert (result.statuses[-1] < 300) == expected_2xx, (result.delivery, result.statuses)
    assert set(ledger) >= valid
    assert all(count == 1 for count in ledger.values())
    assert not invalid & set(ledger), "no invalid event reached core"
    assert set(outbox) == valid, "the outbox holds exactly the accepted events"
    graceful_5xx = [
        s for r in results for s, p in zip(r.statuses, r.phases, strict=True)
        if p == "adapter-2 graceful" and s >= 500
    ]  # fmt: skip
    assert graceful_5xx == [], "a graceful restart costs no sender a failure"
