"""The promotion ladder: one step at a time, never past migrated, rollback from anywhere."""

import pytest
from strangler_gateway.errors import GatewayError
from strangler_gateway.routetable import Mode, Route
from strangler_gateway.traffic.control import LADDER, Step, next_step


def _route(mode: Mode, percent: int | None = None) -> Route:
    return Route("search", "/api/search", "core", "rag", mode, percent=percent)


@pytest.mark.parametrize(
    ("mode", "percent", "expected"),
    [
        (Mode.LEGACY, None, Step(Mode.SHADOW, 10)),
        (Mode.SHADOW, 10, Step(Mode.CANARY, 5)),
        (Mode.SHADOW, 100, Step(Mode.CANARY, 5)),
        (Mode.CANARY, 0, Step(Mode.CANARY, 5)),
        (Mode.CANARY, 5, Step(Mode.CANARY, 25)),
        (Mode.CANARY, 30, Step(Mode.CANARY, 50)),  # a hand-set share joins the ladder above it
        (Mode.CANARY, 50, Step(Mode.MIGRATED)),
        (Mode.CANARY, 90, Step(Mode.MIGRATED)),
    ],
)
def test_the_next_step(mode: Mode, percent: int | None, expected: Step) -> None:
    assert next_step(_route(mode, percent)) == expected


@pytest.mark.parametrize("mode", [Mode.MIGRATED, Mode.RETIRED])
def test_there_is_no_step_above_the_top(mode: Mode) -> None:
    with pytest.raises(GatewayError, match=r"ladder|no step above"):
        next_step(_route(mode))


def test_the_ladder_only_ever_moves_more_traffic_to_new() -> None:
    shares = [_route(step.mode, step.percent).new_percent for step in LADDER]
    assert shares == sorted(shares)
    assert (LADDER[0].mode, LADDER[-1].mode) == (Mode.LEGACY, Mode.MIGRATED)
