"""Browser views of stored traces: the list of recent traces and one trace's waterfall.

- ``pages``: the HTML routes (mounted at / and /traces/), rendered on the server.
- ``views``: what the pages show, as plain values (positions, colors, labels).
- ``templates/`` and ``static/``: the Jinja templates, the stylesheet and the small script.

The rows of the waterfall are computed in ``tracestore.timeline``, shared with the terminal views.
"""

from tracestore.web.pages import PREFIX, web_routes

__all__ = ["PREFIX", "web_routes"]
