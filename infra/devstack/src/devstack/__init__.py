"""The local process runner: the whole stack on one machine, no Docker.

``make up`` uses it to start every process with readiness checks; the end-to-end tests use the
same :class:`Stack` on free ports with a state directory of their own.
"""

from devstack._config import Ports, StackConfig, find_root
from devstack._processes import SPAN_EXPORT_DELAY_MS
from devstack._stack import Stack, StackError

__all__ = ["SPAN_EXPORT_DELAY_MS", "Ports", "Stack", "StackConfig", "StackError", "find_root"]
