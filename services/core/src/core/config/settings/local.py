"""Settings for a developer's machine and the local stack: debug on, a development secret key."""

from core.config.env import env_bool, env_str
from core.config.settings.base import *  # noqa: F403

# Only ever used on a developer's machine; production refuses to start without a real key.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "django-insecure-local-development-only-key")

DEBUG = env_bool("DJANGO_DEBUG", True)

# Serve static files straight from the apps' folders: the local stack runs no collectstatic, so
# there is no STATIC_ROOT to read.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
