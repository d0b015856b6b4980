"""ASGI entrypoint, kept so the monolith can move to an ASGI server without a code change."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.config.settings.local")

application = get_asgi_application()
