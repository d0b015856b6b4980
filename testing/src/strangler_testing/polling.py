"""Wait for a condition with a deadline: tests poll, they never sleep and hope."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["DeadlineError", "wait_until", "wait_until_async"]

T = TypeVar("T")


class DeadlineError(AssertionError):
    """A polled condition did not hold in time (an AssertionError, so pytest shows it as a fail)."""


def wait_until(
    check: Callable[[], T],
    *,
    timeout: float = 10.0,
    every: float = 0.02,
    what: str = "",
    alive: Callable[[], bool] | None = None,
) -> T:
    """Return ``check()`` once it is truthy; raise DeadlineError at the deadline.

    ``alive`` (a process's liveness, say) is asked before each try, so a dead server fails the
    test at once instead of at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and not alive():
            raise DeadlineError(f"gave up waiting for {what or check}: it is no longer alive")
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DeadlineError(f"not true within {timeout:g} s: {what or check} -> {result!r}")
        time.sleep(every)


async def wait_until_async(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,
    every: float = 0.02,
    what: str = "",
) -> T:
    """Return ``check()`` (awaited if it gives an awaitable) once truthy; raise at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        value: T = await result if isinstance(result, Awaitable) else result
        if value:
            return value
        if time.monotonic() > deadline:
            raise DeadlineError(f"not true within {timeout:g} s: {what or check} -> {value!r}")
        await asyncio.sleep(every)
