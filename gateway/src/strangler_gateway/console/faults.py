"""The faults switched on in the services, for the overview (a drill must never be forgotten on).

Read from each service's ``GET /internal/faults`` with the service token, like the rollout's
fault drill sets them. A service that does not answer is shown as unknown, not as fault-free.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["FaultState", "read_faults"]


@dataclass(frozen=True)
class FaultState:
    """One service's fault flags, or why they are unknown."""

    service: str
    flags: dict[str, Any]
    error: str = ""

    @property
    def active(self) -> dict[str, Any]:
        """Return the flags that are on (non-zero)."""
        return {name: value for name, value in self.flags.items() if value}


async def read_faults(
    client: httpx.AsyncClient, sources: dict[str, str], token: str
) -> list[FaultState]:
    """Return every source's fault flags, asked all at once."""
    return list(
        await asyncio.gather(*(_read(client, name, url, token) for name, url in sources.items()))
    )


async def _read(client: httpx.AsyncClient, name: str, url: str, token: str) -> FaultState:
    try:
        response = await client.get(
            f"{url}/internal/faults", headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        flags = response.json()
    except (httpx.HTTPError, ValueError) as error:
        return FaultState(name, {}, f"unknown ({type(error).__name__})")
    return FaultState(name, flags if isinstance(flags, dict) else {})
