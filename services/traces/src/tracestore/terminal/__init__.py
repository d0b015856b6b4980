"""Terminal views of stored traces, printed by the ``traces`` command with rich.

- ``traces``: the recent-traces table and one trace's span tree.
- ``timeline``: one trace as a timeline, a bar per span, with the gateway's routing decision.

The rows of the timeline are computed in ``tracestore.timeline``, shared with the browser views.
"""

from tracestore.terminal.timeline import MIN_BAR_CELLS, trace_timeline
from tracestore.terminal.traces import trace_tree, traces_table

__all__ = ["MIN_BAR_CELLS", "trace_timeline", "trace_tree", "traces_table"]
