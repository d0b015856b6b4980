"""Ten shifts of /api/search between 0 % and 100 % under a steady load lose no request.

A bounded load (6,000 requests from four keep-alive clients, over 200 users) runs against the
real core and rag through the real nginx while the route flips between all-legacy and all-new.
The clients behave as HTTP clients do (see ``strangler_gateway.loadgen``); a request counts as
failed if it gets no answer or an answer other than 200.
"""

from collections.abc import Callable

import pytest
from devstack import Stack
from strangler_gateway.loadgen import Load

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("restore_routes")]

REQUESTS = 6000
SHIFTS = 10


def test_ten_shifts_under_load_fail_no_request(
    stack: Stack, set_route: Callable[..., None]
) -> None:
    set_route("search", "canary", 0)
    url = f"http://127.0.0.1:{stack.config.ports.gateway}"
    load = Load(
        url,
        "/api/search?q=invoice&k=2",
        total=REQUESTS,
        threads=4,
        headers=lambda number: {"X-User-Id": f"user-{number % 200}"},
    ).start()
    for shift in range(SHIFTS):
        load.wait_until((shift + 1) * REQUESTS // (SHIFTS + 1), timeout=120)
        stack.set_route("search", "canary", 100 if shift % 2 == 0 else 0)
    result = load.join(timeout=180)
    assert result.failures == [], result.failures[:10]
    assert result.ok == REQUESTS
    assert result.served_by["legacy"] > 0 and result.served_by["new"] > 0
