"""Bare Django hello-world: one JSON view, no database, no middleware beyond Django's minimum.

Served as ``gunicorn strangler_bench.apps.hello_django:application`` with the services' settings.
"""

from strangler_bench.apps._django_hello import application_with

application = application_with(middleware=[], installed_apps=[])
