"""The shadow comparator: is the new service's answer as good as the monolith's?

In shadow mode the gateway mirrors a share of a route's idempotent requests to the comparator,
which answers at once and later asks legacy twice and new once, judges the answers with the
route's rule (noise-cancelled, Diffy style), records the outcome in SQLite and links its span to
the user's trace. ``python -m strangler_gateway.shadow serve`` runs it (the ASGI app is in
``strangler_gateway.shadow.app``); ``strangler shadow ROUTE`` shows the report (its command is in
``strangler_gateway.cli.shadow``).
"""

from strangler_gateway.routetable import Compare
from strangler_gateway.shadow.config import ComparatorSettings, ShadowTarget, TargetTable
from strangler_gateway.shadow.models import Comparison, Outcome, PathDiff, ShadowError
from strangler_gateway.shadow.report import ExampleDiff, ShadowReport, shadow_report
from strangler_gateway.shadow.rules import Verdict, compare_answers

__all__ = [
    "ComparatorSettings",
    "Compare",
    "Comparison",
    "ExampleDiff",
    "Outcome",
    "PathDiff",
    "ShadowError",
    "ShadowReport",
    "ShadowTarget",
    "TargetTable",
    "Verdict",
    "compare_answers",
    "shadow_report",
]
