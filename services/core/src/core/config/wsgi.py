"""WSGI entrypoint for gunicorn (`core.config.wsgi:application`)."""

import os

from django.core.wsgi import get_wsgi_application

from core.config.hosts import AllowedHostsGuard
from core.config.paths import AsciiPathGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.config.settings.local")

application = AllowedHostsGuard(AsciiPathGuard(get_wsgi_application()))
