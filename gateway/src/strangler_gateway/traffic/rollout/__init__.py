"""The progressive rollout: walk a route through a plan of steps, judging each on evidence.

- ``plan``: the steps and how each is judged (per route in routes.toml, overridable by flags);
- ``logtail``: the access-log lines written since the last judgement (rotation-safe);
- ``evidence``: both sides' requests, users, errors and latencies in the same window;
- ``gates``: errors, latency, parity and split, each decided by a statistical test;
- ``judge``: a step's outcome (passed, failed, inconclusive) from its gates;
- ``ledger``: every decision, one JSON line each (``read_ledger`` is the console's reader);
- ``state``: the controller's state on disk and its one-per-route lock;
- ``controller``: the loop that applies, waits, judges and moves on or back;
- ``abort``: stop a rollout from another process.
"""

from strangler_gateway.traffic.rollout.abort import abort_rollout
from strangler_gateway.traffic.rollout.controller import Controller, RolloutResult, Settings
from strangler_gateway.traffic.rollout.ledger import read_ledger
from strangler_gateway.traffic.rollout.plan import Plan, PlanStep, load_plan
from strangler_gateway.traffic.rollout.state import RolloutFiles, RolloutState

__all__ = [
    "Controller",
    "Plan",
    "PlanStep",
    "RolloutFiles",
    "RolloutResult",
    "RolloutState",
    "Settings",
    "abort_rollout",
    "load_plan",
    "read_ledger",
]
