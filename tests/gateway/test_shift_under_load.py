"""Ten shifts of /api/search between 0 % and 100 % under a steady load lose no request or stream.

A bounded load (6,000 requests from four keep-alive clients, over 200 users) runs against the
real core and rag through the real nginx while the route flips between all-legacy and all-new.
The clients never retry, not even on a keep-alive connection the gateway closed (what a reload
does to idle ones, and what wrk counts as a read error): a request counts as failed if it gets no
answer or an answer other than 200. A shift writes the percentage into nginx's memory, so no
connection is closed and no request lost.

Meanwhile one SSE chat answer, opened on rag before the first shift, streams through every
reload. rag answers instantly by default, so its token-delay fault (``PUT /internal/faults``)
makes it a slow model for the length of the shifts; the delay is lifted once the last shift is
live, so the test lasts as long as its shifts, not as long as the slowed answer could.
"""

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_gateway.tools.loadgen import Load

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("restore_routes")]

REQUESTS = 6000
SHIFTS = 10
# A broad question over the whole knowledge base, answered in at least MIN_TOKENS cited sentences
# (one token each). At rag's largest token delay the answer streams for at least 90 s: about four
# times as long as the shifts take on a quiet machine (23 s), and shorter than the gateway's
# max_stream_seconds (300 s) that bounds a stream across a reload.
QUESTION = {
    "question": (
        "Which plan, billing, invoice, payment, card, workspace, member, owner, admin, seat,"
        " account and team settings can I change?"
    ),
    "k": 50,
}
MIN_TOKENS = 9
TOKEN_DELAY_SECONDS = 10.0


@dataclass
class ChatStream:
    """An SSE chat answer read in a background thread, event by event."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, Any]] = field(default_factory=list)
    status: int = 0
    problem: BaseException | None = None
    opened: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "ChatStream":
        """Open the stream in a daemon thread."""
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        headers = {"Accept": "text/event-stream", "X-Migration-Target": "new"}
        # The read timeout is the longest silence allowed, well above the token delay.
        timeout = httpx.Timeout(10.0, read=60.0)
        try:
            with httpx.stream(
                "POST", f"{self.url}/api/chat", json=QUESTION, headers=headers, timeout=timeout
            ) as response:
                self.status, self.headers = response.status_code, dict(response.headers)
                self._collect(response)
        except (httpx.HTTPError, ValueError) as error:
            self.problem = error
        finally:
            self.opened.set()
            self.finished.set()

    def _collect(self, response: httpx.Response) -> None:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                self.events.append((name, json.loads(line.removeprefix("data: "))))
                self.opened.set()

    def names(self) -> list[str]:
        """Return the names of the events received so far."""
        return [name for name, _ in self.events]


@pytest.fixture
def token_delay(stack: Stack) -> Iterator[Callable[[float], None]]:
    """Set rag's token-delay fault; put rag's fault flags back as they were afterwards."""
    url = f"http://127.0.0.1:{stack.config.ports.rag_http}/internal/faults"
    headers = {"Authorization": f"Bearer {stack.secrets.service_token}"}
    before = httpx.get(url, headers=headers, timeout=10).json()

    def set_delay(seconds: float) -> None:
        body = {**before, "token_delay_seconds": seconds}
        response = httpx.put(url, json=body, headers=headers, timeout=10)
        assert response.json() == body, response.text

    yield set_delay
    httpx.put(url, json=before, headers=headers, timeout=10).raise_for_status()


def test_ten_shifts_under_load_fail_no_request_and_no_open_stream(
    stack: Stack, set_route: Callable[..., None], token_delay: Callable[[float], None]
) -> None:
    set_route("search", "canary", 0)
    url = f"http://127.0.0.1:{stack.config.ports.gateway}"
    token_delay(TOKEN_DELAY_SECONDS)
    stream = ChatStream(url).start()
    assert stream.opened.wait(30) and stream.names()[:1] == ["sources"], stream.problem
    load = Load(
        url,
        "/api/search?q=invoice&k=2",
        total=REQUESTS,
        threads=4,
        headers=lambda number: {"X-User-Id": f"user-{number % 200}"},
        retry_stale=False,
    ).start()
    for shift in range(SHIFTS):
        load.wait_until((shift + 1) * REQUESTS // (SHIFTS + 1), timeout=120)
        # Waits until the gateway serves the new config, so the stream has crossed the reload.
        set_route("search", "canary", 100 if shift % 2 == 0 else 0)
    open_after_last_shift = not stream.finished.is_set()
    tokens_by_then = stream.names().count("token")
    token_delay(0)
    result = load.join(timeout=180)
    assert stream.finished.wait(60), "the stream did not end once the delay was lifted"

    assert result.failures == [], result.failures[:10]
    assert result.ok == REQUESTS and result.stale_retries == 0
    assert result.served_by["legacy"] > 0 and result.served_by["new"] > 0
    tokens = stream.names().count("token")
    assert tokens >= MIN_TOKENS, f"a shorter answer ({tokens} tokens) may end before the shifts do"
    assert open_after_last_shift, f"the stream ended before the last shift: {tokens_by_then} tokens"
    _assert_complete(stream)


def _assert_complete(stream: ChatStream) -> None:
    assert (stream.status, stream.problem) == (200, None)
    assert (stream.headers["x-served-by"], stream.headers["x-service"]) == ("new", "rag")
    names = stream.names()
    assert names[0] == "sources" and names[-1] == "done", names
    assert set(names[1:-1]) == {"token"}, "no error event, nothing after done"
    tokens = "".join(data["text"] for name, data in stream.events if name == "token")
    assert tokens == stream.events[-1][1]["answer"]
