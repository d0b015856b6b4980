"""The migration console: the gateway's routes, their live traffic and evidence, in a browser.

Served at ``/console/`` by the gateway (``python -m strangler_gateway.console serve``): every
route with its split and live figures per side, a page per route with its change history, shadow
parity and rollout ledger, and actions (shift, promote, rollback) for signed-in staff users.
"""

from strangler_gateway.console.app import PATH, create_app
from strangler_gateway.console.settings import ConsoleSettings

__all__ = ["PATH", "ConsoleSettings", "create_app"]
