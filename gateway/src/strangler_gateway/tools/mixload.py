"""A bounded, realistic load on 127.0.0.1: many sticky users, searches and chat answers.

Something has to send traffic for a rollout to judge. Each request comes from one of ``users``
users (its ``X-User-Id`` sticky key, so each user stays on one side of a canary), and is a search
GET (most), a chat answer as JSON or a chat answer streamed as SSE. Requests are paced to a rate
and stop at a duration; no request is retried, so every failure is counted. The result is
summarised per side (``X-Served-By``): requests, errors, p50 and p99.
"""

import http.client
import ipaddress
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from strangler_gateway.errors import GatewayError

__all__ = ["MixResult", "MixedLoad", "SideSummary"]

_QUERIES = ("invoice", "refund", "password reset", "change plan", "billing address", "api key",
            "workspace members", "cancel subscription", "two factor", "export data")  # fmt: skip
# Of every 20 requests: 16 searches, 2 JSON chat answers, 2 streamed ones.
_MIX = ("search",) * 16 + ("chat",) * 2 + ("stream",) * 2
_MAX_SECONDS = 3600
_MAX_RATE = 2000


@dataclass(frozen=True)
class SideSummary:
    """One side's share of the load."""

    side: str
    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None


@dataclass
class MixResult:
    """Every request's side, outcome and latency, by kind."""

    sent: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)

    def sides(self) -> list[SideSummary]:
        """Return the per-side summary (legacy, new, then anything else seen)."""
        names = sorted(self.latencies, key=lambda s: ({"legacy": 0, "new": 1}.get(s, 2), s))
        return [_summary(name, self.latencies[name], self.errors[name]) for name in names]


class MixedLoad:
    """Send the mix to ``url`` at ``rate`` requests a second for ``seconds``, from ``users``."""

    def __init__(
        self, url: str, *, seconds: float, rate: float, users: int, workers: int = 16
    ) -> None:
        parts = urlsplit(url)
        if (
            parts.scheme != "http"
            or not parts.hostname
            or not ipaddress.ip_address(parts.hostname).is_loopback
        ):
            raise GatewayError(f"load goes to 127.0.0.1 only, not {url}")
        if not 0 < seconds <= _MAX_SECONDS or not 0 < rate <= _MAX_RATE or users < 1:
            raise GatewayError(f"duration 0..{_MAX_SECONDS} s, rate 0..{_MAX_RATE}/s, users >= 1")
        self._address = parts.netloc
        self.total = int(seconds * rate)
        self._rate, self._users = rate, users
        self._next = 0
        self._lock = threading.Lock()
        self._start = 0.0
        self.result = MixResult()
        self._workers = [threading.Thread(target=self._work, args=(n,), daemon=True)
                         for n in range(workers)]  # fmt: skip

    def run(self, progress: Callable[[int], None] = lambda done: None) -> MixResult:
        """Send every request, calling ``progress`` with the count done, and return the result."""
        self._start = time.monotonic()
        for worker in self._workers:
            worker.start()
        while any(worker.is_alive() for worker in self._workers):
            progress(self.result.sent)
            time.sleep(0.1)
        progress(self.result.sent)
        return self.result

    def _claim(self) -> int | None:
        with self._lock:
            if self._next >= self.total:
                return None
            self._next += 1
            return self._next - 1

    def _work(self, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 (a traffic mix, not a secret)
        connection: http.client.HTTPConnection | None = None
        while (number := self._claim()) is not None:
            delay = self._start + number / self._rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            connection = self._send(connection, number, rng)
        if connection is not None:
            connection.close()

    def _send(self, connection: http.client.HTTPConnection | None, number: int,
              rng: random.Random) -> http.client.HTTPConnection | None:  # fmt: skip
        kind = _MIX[number % len(_MIX)]
        method, path, body, headers = _request(kind, rng)
        headers["X-User-Id"] = f"user-{rng.randrange(self._users)}"
        started = time.perf_counter()
        try:
            connection = connection or http.client.HTTPConnection(self._address, timeout=30)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._record(kind, "none", None, type(exc).__name__)
            if connection is not None:
                connection.close()
            return None
        side = response.getheader("X-Served-By", "unknown")
        failure = None if response.status < 500 else f"HTTP {response.status}"
        self._record(kind, side, (time.perf_counter() - started) * 1000, failure)
        return connection

    def _record(self, kind: str, side: str, ms: float | None, failure: str | None) -> None:
        with self._lock:
            self.result.sent += 1
            self.result.kinds[kind] += 1
            if failure is not None:
                self.result.failures[failure] += 1
                self.result.errors[side] += 1
            self.result.latencies[side].append(ms if ms is not None else float("nan"))


def _request(kind: str, rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
    query = rng.choice(_QUERIES)
    if kind == "search":
        return "GET", f"/api/search?q={quote(query)}&k=3", None, {}
    body = json.dumps({"question": f"How do I {query}?", "k": 3}).encode()
    accept = "text/event-stream" if kind == "stream" else "application/json"
    return "POST", "/api/chat", body, {"Content-Type": "application/json", "Accept": accept}


def _summary(side: str, latencies: list[float], errors: int) -> SideSummary:
    times = sorted(ms for ms in latencies if ms == ms)
    if not times:
        return SideSummary(side, len(latencies), errors, None, None)
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return SideSummary(side, len(latencies), errors, p50, p99)
