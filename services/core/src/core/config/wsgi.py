"""WSGI entrypoint for gunicorn (`core.config.wsgi:application`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.config.settings.local")

application = get_wsgi_application()
