"""Faults injected on purpose, switchable at run time: the rollout's failure drill.

A progressive rollout must prove it rolls back when the new service gets worse. These flags make
rag worse on demand: ``error_rate`` (the share of public API requests answered 500
``injected_fault``) and ``added_latency_seconds`` (a pause before each one is handled). They
start from ``RAG_FAULT_*`` and change with ``PUT /internal/faults`` (service token required);
``PUT`` with ``{}`` clears them.
"""

import asyncio
import random
from dataclasses import dataclass


class InjectedFaultError(Exception):
    """A request failed because the fault flags said so."""


@dataclass(frozen=True, slots=True)
class FaultFlags:
    """The current fault settings."""

    error_rate: float = 0.0
    added_latency_seconds: float = 0.0


class Faults:
    """The process's fault flags, applied to each public API request."""

    def __init__(self, flags: FaultFlags | None = None, rng: random.Random | None = None) -> None:
        self.flags = flags or FaultFlags()
        # Not for security: which requests fail only needs to be spread evenly.
        self._rng = rng or random.Random()  # noqa: S311

    async def inject(self) -> None:
        """Delay and maybe fail the current request, as the flags say."""
        flags = self.flags
        if flags.added_latency_seconds > 0:
            await asyncio.sleep(flags.added_latency_seconds)
        if flags.error_rate > 0 and self._rng.random() < flags.error_rate:
            raise InjectedFaultError("this request failed on purpose (fault injection is on)")
