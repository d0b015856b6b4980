"""Benchmark and load tools: measure the gateway, never assert its speed in a test.

- ``bench``: ``python -m strangler_gateway.tools.bench`` prints latency and throughput through a
  real nginx, steady and while traffic shifts.
- ``loadgen``: a bounded keep-alive HTTP load that behaves as real clients do.
"""

from strangler_gateway.tools.loadgen import Load, LoadResult

__all__ = ["Load", "LoadResult"]
