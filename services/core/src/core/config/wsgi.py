"""WSGI entrypoint for gunicorn (`core.config.wsgi:application`)."""

import os

import django

from core.config.hosts import CoreHandler
from core.config.paths import AsciiPathGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.config.settings.local")
# What django.core.wsgi.get_wsgi_application does, with core's handler.
django.setup(set_prefix=False)
application = AsciiPathGuard(CoreHandler())
