"""A promotion racing a rollback: whatever order they run in, the one that ran last decides.

Both commands start at the same moment from canary 50 %, twenty times. Each reports the route
before and after its change; the two changes must chain (one's "before" is the other's "after"),
a promotion must move exactly one ladder step from the route it found under the change lock, and
the table ends as the last change left it. A rollback is never undone by a step computed before it.
"""

import threading
from collections.abc import Callable

from strangler_gateway import (
    ModeChange,
    load_route_table,
    next_step,
    promote_route,
    rollback_route,
    set_route_mode,
)

from .conftest import MakeGateway

ROUNDS = 20


def _race(run: list[Callable[[], ModeChange]]) -> list[ModeChange]:
    start = threading.Barrier(len(run))
    results: list[ModeChange | BaseException] = [RuntimeError("not run")] * len(run)

    def one(index: int) -> None:
        start.wait()
        try:
            results[index] = run[index]()
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=one, args=(index,)) for index in range(len(run))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(result, ModeChange) for result in results), results
    return [result for result in results if isinstance(result, ModeChange)]


def _state(change: ModeChange, which: str) -> tuple[str, int | None]:
    route = change.change.before if which == "before" else change.change.after
    return str(route.mode), route.percent


def test_the_last_of_a_racing_promote_and_rollback_decides(make_gateway: MakeGateway) -> None:
    gateway = make_gateway()
    table, prefix = gateway.table_path, gateway.prefix
    outcomes = []
    for _ in range(ROUNDS):
        set_route_mode(table, prefix, "search", "canary", 50)
        promoted, rolled_back = _race(
            [
                lambda: promote_route(table, prefix, "search"),
                lambda: rollback_route(table, prefix, "search"),
            ]
        )
        promoted_step = next_step(promoted.change.before)
        assert _state(promoted, "after") == (str(promoted_step.mode), promoted_step.percent)
        if _state(rolled_back, "before") == _state(promoted, "after"):
            last = rolled_back  # the promotion ran first, the rollback after it
        else:
            assert _state(promoted, "before") == _state(rolled_back, "after")
            last = promoted
        final = load_route_table(table).route("search")
        assert (str(final.mode), final.percent) == _state(last, "after")
        served = gateway.fetch("/api/search", headers={"X-User-Id": "u1"})
        assert served.headers["x-gateway-config"] == last.config_id
        outcomes.append(_state(last, "after"))
    assert ("migrated", None) not in outcomes
