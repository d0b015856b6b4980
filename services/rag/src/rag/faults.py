"""Faults injected on purpose, switchable at run time: the rollout's failure drill.

A progressive rollout must prove it rolls back when the new service gets worse. These flags make
rag worse on demand: ``error_rate`` (the share of public API requests answered 500
``injected_fault``), ``added_latency_seconds`` (a pause before each one is handled),
``token_delay_seconds`` (a pause before each token of every answer, streamed or not: a model that
got slower) and ``inject_field`` (a field of that name added to every search answer: an answer
that no longer matches the monolith's, for the shadow comparator to catch). They start from
``RAG_FAULT_*`` and change with ``PUT /internal/faults`` (service token required); ``PUT`` with
``{}`` clears them.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# The largest values accepted, at start-up and at run time. The token delay counts against the
# provider timeout (RAG_PROVIDER_TIMEOUT_SECONDS, 30 s by default): its largest value slows an
# answer down without turning it into a provider_timeout error.
MAX_ADDED_LATENCY_SECONDS = 60.0
MAX_TOKEN_DELAY_SECONDS = 10.0

Sleep = Callable[[float], Awaitable[None]]


class InjectedFaultError(Exception):
    """A request failed because the fault flags said so."""


@dataclass(frozen=True, slots=True)
class FaultFlags:
    """The current fault settings."""

    error_rate: float = 0.0
    added_latency_seconds: float = 0.0
    token_delay_seconds: float = 0.0
    inject_field: str = ""


class Faults:
    """The process's fault flags, applied to each public API request and each answer token."""

    def __init__(
        self,
        flags: FaultFlags | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.flags = flags or FaultFlags()
        # Not for security: which requests fail only needs to be spread evenly.
        self._rng = rng or random.Random()  # noqa: S311
        self._sleep = sleep

    async def inject(self) -> None:
        """Delay and maybe fail the current request, as the flags say."""
        flags = self.flags
        if flags.added_latency_seconds > 0:
            await self._sleep(flags.added_latency_seconds)
        if flags.error_rate > 0 and self._rng.random() < flags.error_rate:
            raise InjectedFaultError("this request failed on purpose (fault injection is on)")

    def decorate(self, answer: dict[str, Any]) -> dict[str, Any]:
        """Return ``answer`` with the injected field added, when one is set."""
        name = self.flags.inject_field
        return {**answer, name: "injected"} if name else answer

    async def pace_token(self) -> None:
        """Pause before the next token of an answer, as the token delay says."""
        # Read per token, so a change reaches the answers already streaming.
        delay = self.flags.token_delay_seconds
        if delay > 0:
            await self._sleep(delay)
