"""Traffic control: moving a route between legacy and new, and judging how its traffic went.

- ``control``: the route modes' promotion ladder (legacy, shadow, canary, migrated), and the one
  way a mode or percentage changes: ``set_route_mode``, ``promote_route``, ``rollback_route``.
- ``stats``: requests, error rate and latency per side from the access log, and the sample ratio
  mismatch (SRM) check of the observed split against the configured one.
"""

from strangler_gateway.traffic.control import (
    LADDER,
    ModeChange,
    Step,
    next_step,
    promote_route,
    rollback_route,
    set_route_mode,
)
from strangler_gateway.traffic.stats import (
    SRM_ALPHA,
    RouteStats,
    SideStats,
    SrmVerdict,
    read_entries,
    route_stats,
    sample_ratio_mismatch,
)

__all__ = [
    "LADDER",
    "SRM_ALPHA",
    "ModeChange",
    "RouteStats",
    "SideStats",
    "SrmVerdict",
    "Step",
    "next_step",
    "promote_route",
    "read_entries",
    "rollback_route",
    "route_stats",
    "sample_ratio_mismatch",
    "set_route_mode",
]
